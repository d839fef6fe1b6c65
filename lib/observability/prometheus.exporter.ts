import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type * as PromClient from 'prom-client';
import { MissingPeerDependencyError } from '../errors/missing-peer.error.js';
import { DURATION_BUCKETS_MS } from './duration-histogram.js';
import type { EventMetrics, QueueReading } from './event-metrics.js';
import type { ResolvedMetricsOptions } from './metrics.options.js';

type Prometheus = NonNullable<ResolvedMetricsOptions['prometheus']>;
type Labels = Record<string, string | number>;
interface Value {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
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
 * A metric whose values are read when the registry is scraped: nothing is done per event (a
 * prom-client `inc` or `observe` with labels costs about a microsecond, more than an in-process
 * emit). prom-client accepts any object with `name` and `get()`.
 */
function collected(
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram',
  values: () => Value[] | Promise<Value[]>,
): PromClient.Metric {
  return {
    name,
    help,
    type,
    async get() {
      return { name, help, type, values: await values(), aggregator: 'sum' };
    },
    reset() {},
  } as unknown as PromClient.Metric;
}

/**
 * `forRoot({ metrics: { prometheus } })`: registers the library's metrics on a prom-client
 * registry and, with `path`, serves that registry on the app's HTTP server. Counters and the
 * duration histogram are read from `EventMetrics` at scrape time; queue gauges from the transport
 * (cached `cacheMs`). Labels carry names only, never ids or payloads.
 */
export class PrometheusExporter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('EventsPrometheus');
  private readonly names: string[] = [];
  private cached: { at: number; readings: Promise<Record<string, QueueReading>> } | undefined;

  private constructor(
    private readonly options: Prometheus,
    private readonly registry: PromClient.Registry,
    private readonly metrics: EventMetrics,
    private readonly http: HttpAdapterHost,
  ) {
    const p = options.prefix;
    const store = metrics.store;
    const register = (metric: PromClient.Metric): void => {
      registry.registerMetric(metric);
      this.names.push((metric as unknown as { name: string }).name);
    };
    register(
      collected(
        `${p}emitted_total`,
        'Events emitted by this process, by event name',
        'counter',
        () => [...store.emits()].map(([event, e]) => ({ labels: { event }, value: e.emitted })),
      ),
    );
    register(
      collected(
        `${p}listener_runs_total`,
        'Listener attempts by outcome (success, failure, retry, timeout, dead, released)',
        'counter',
        () =>
          [...store.listenerTotals()].flatMap(([listener, t]) =>
            Object.entries(t.outcomes).map(([outcome, value]) => ({
              labels: { listener, queue: t.queue ?? '', outcome },
              value,
            })),
          ),
      ),
    );
    register(
      collected(
        `${p}listener_skipped_total`,
        'Jobs of queued listeners not queued because @ShouldQueue({ when }) declined the event',
        'counter',
        () =>
          [...store.listenerTotals()]
            .filter(([, t]) => t.skipped > 0)
            .map(([listener, t]) => ({
              labels: { listener, queue: t.queue ?? '' },
              value: t.skipped,
            })),
      ),
    );
    const histogram = `${p}listener_duration_seconds`;
    register(
      collected(histogram, 'Handler time of listener attempts', 'histogram', () =>
        [...store.listenerTotals()].flatMap(([listener, t]) => {
          const labels = { listener, queue: t.queue ?? '' };
          const h = t.duration;
          let cumulative = 0;
          const buckets: Value[] = DURATION_BUCKETS_MS.map((ms, i) => {
            cumulative += h.counts[i];
            return {
              metricName: `${histogram}_bucket`,
              labels: { ...labels, le: ms / 1000 },
              value: cumulative,
            };
          });
          return [
            ...buckets,
            {
              metricName: `${histogram}_bucket`,
              labels: { ...labels, le: '+Inf' },
              value: h.count,
            },
            { metricName: `${histogram}_sum`, labels, value: h.sumMs / 1000 },
            { metricName: `${histogram}_count`, labels, value: h.count },
          ];
        }),
      ),
    );
    register(
      collected(
        `${p}queue_jobs`,
        'Jobs of each queue by state (every process), read from the transport at scrape time',
        'gauge',
        async () =>
          Object.entries(await this.readings()).flatMap(([queue, r]) =>
            (['waiting', 'delayed', 'active', 'dead'] as const).map((state) => ({
              labels: { queue, state },
              value: r[state],
            })),
          ),
      ),
    );
    register(
      collected(
        `${p}queue_lag_seconds`,
        'How long the oldest waiting job of each queue has been ready to run',
        'gauge',
        async () =>
          Object.entries(await this.readings()).map(([queue, r]) => ({
            labels: { queue },
            value: r.oldestWaitingMs / 1000,
          })),
      ),
    );
  }

  /**
   * The exporter of these options, its metrics registered on the registry.
   * @throws MissingPeerDependencyError when `prom-client` is not installed.
   */
  static async create(
    options: Prometheus,
    metrics: EventMetrics,
    http: HttpAdapterHost,
  ): Promise<PrometheusExporter> {
    const prom = await loadPromClient();
    const registry = (options.registry as PromClient.Registry | undefined) ?? prom.register;
    return new PrometheusExporter(options, registry, metrics, http);
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
