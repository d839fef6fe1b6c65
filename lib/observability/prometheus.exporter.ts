import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type * as PromClient from 'prom-client';
import { MissingPeerDependencyError } from '../errors/missing-peer.error.js';
import { DURATION_BUCKETS_MS } from './duration-histogram.js';
import type { EventMetrics, MetricsSink, QueueReading } from './event-metrics.js';
import type { ResolvedMetricsOptions } from './metrics.options.js';
import type { AttemptRecord } from './metrics-store.js';

type Prometheus = NonNullable<ResolvedMetricsOptions['prometheus']>;

/** The Prometheus `outcome` label of an attempt: one per attempt. */
function outcomeLabel(record: AttemptRecord): string {
  switch (record.outcome) {
    case 'handled':
      return 'success';
    case 'deadLettered':
      return 'dead';
    case 'released':
      return 'released';
    case 'retried':
      return record.isTimedOut ? 'timeout' : 'retry';
    default:
      return record.isTimedOut ? 'timeout' : 'failure';
  }
}

/**
 * Loads the optional `prom-client` package: the one place that imports it (at run time).
 * @throws MissingPeerDependencyError naming `prom-client` when it is not installed.
 */
async function loadPromClient(): Promise<typeof PromClient> {
  try {
    const loaded = (await import('prom-client')) as typeof PromClient & {
      default?: typeof PromClient;
    };
    return loaded.default ?? loaded;
  } catch (error) {
    throw new MissingPeerDependencyError('metrics.prometheus', 'prom-client', { cause: error });
  }
}

/**
 * `forRoot({ metrics: { prometheus } })`: registers the library's metrics on a prom-client
 * registry and, with `path`, serves that registry on the app's HTTP server. Counters and the
 * duration histogram are fed as `EventMetrics` records; queue gauges are read from the transport
 * at scrape time (cached `cacheMs`). Labels carry names only, never ids or payloads.
 */
export class PrometheusExporter implements MetricsSink, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('EventsPrometheus');
  private readonly names: string[] = [];
  private readonly emittedTotal: PromClient.Counter<'event'>;
  private readonly runs: PromClient.Counter<'listener' | 'queue' | 'outcome'>;
  private readonly durations: PromClient.Histogram<'listener' | 'queue'>;
  private cached: { at: number; readings: Promise<Record<string, QueueReading>> } | undefined;

  private constructor(
    prom: typeof PromClient,
    private readonly options: Prometheus,
    private readonly registry: PromClient.Registry,
    private readonly metrics: EventMetrics,
    private readonly http: HttpAdapterHost,
  ) {
    const p = options.prefix;
    const registers = [registry];
    this.emittedTotal = new prom.Counter({
      name: `${p}emitted_total`,
      help: 'Events emitted (delivered by this process), by event name',
      labelNames: ['event'],
      registers,
    });
    this.runs = new prom.Counter({
      name: `${p}listener_runs_total`,
      help: 'Listener attempts by outcome (success, failure, retry, timeout, dead, released)',
      labelNames: ['listener', 'queue', 'outcome'],
      registers,
    });
    this.durations = new prom.Histogram({
      name: `${p}listener_duration_seconds`,
      help: 'Handler time of listener attempts',
      labelNames: ['listener', 'queue'],
      buckets: DURATION_BUCKETS_MS.map((ms) => ms / 1000),
      registers,
    });
    const read = (): Promise<Record<string, QueueReading>> => this.readings();
    new prom.Gauge({
      name: `${p}queue_jobs`,
      help: 'Jobs of each queue by state (every process), read from the transport at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const [queue, r] of Object.entries(await read())) {
          for (const state of ['waiting', 'delayed', 'active', 'dead'] as const) {
            this.set({ queue, state }, r[state]);
          }
        }
      },
    });
    new prom.Gauge({
      name: `${p}queue_lag_seconds`,
      help: 'How long the oldest waiting job of each queue has been ready to run',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        for (const [queue, r] of Object.entries(await read())) {
          this.set({ queue }, r.oldestWaitingMs / 1000);
        }
      },
    });
    this.names = ['emitted_total', 'listener_runs_total', 'listener_duration_seconds']
      .concat(['queue_jobs', 'queue_lag_seconds'])
      .map((name) => `${p}${name}`);
  }

  /**
   * The exporter of these options, its metrics registered and fed by `metrics`.
   * @throws MissingPeerDependencyError when `prom-client` is not installed.
   */
  static async create(
    options: Prometheus,
    metrics: EventMetrics,
    http: HttpAdapterHost,
  ): Promise<PrometheusExporter> {
    const prom = await loadPromClient();
    const registry = (options.registry as PromClient.Registry | undefined) ?? prom.register;
    const exporter = new PrometheusExporter(prom, options, registry, metrics, http);
    metrics.addSink(exporter);
    return exporter;
  }

  emitted(event: string): void {
    this.emittedTotal.inc({ event });
  }

  attempt(record: AttemptRecord): void {
    const queue = record.queue ?? '';
    this.runs.inc({ listener: record.listener, queue, outcome: outcomeLabel(record) });
    if (record.outcome !== 'released') {
      this.durations.observe({ listener: record.listener, queue }, record.durationMs / 1000);
    }
  }

  /** Serves the registry at `path` on the app's HTTP server (express or fastify). */
  onModuleInit(): void {
    const path = this.options.path;
    if (path === undefined) return;
    const adapter = this.http.httpAdapter;
    if (adapter === undefined || adapter === null) {
      this.logger.warn(
        `metrics.prometheus.path "${path}" is not served: this application has no HTTP server`,
      );
      return;
    }
    adapter.get(path, (_request: unknown, response: unknown) => {
      this.registry.metrics().then(
        (text) => {
          adapter.setHeader(response, 'Content-Type', this.registry.contentType);
          adapter.reply(response, text, 200);
        },
        (error: unknown) => adapter.reply(response, `scrape failed: ${String(error)}\n`, 500),
      );
    });
  }

  /** Unregisters its metrics: an app started again in this process registers them anew. */
  onApplicationShutdown(): void {
    for (const name of this.names) this.registry.removeSingleMetric(name);
  }

  private readings(): Promise<Record<string, QueueReading>> {
    const now = Date.now();
    if (this.cached === undefined || now - this.cached.at >= this.options.cacheMs) {
      const readings = this.metrics.queues();
      // A failed read is not kept: the next scrape tries again.
      readings.catch(() => (this.cached = undefined));
      this.cached = { at: now, readings };
    }
    return this.cached.readings;
  }
}
