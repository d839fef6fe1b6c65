import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';

/** Prometheus export (`prom-client`, an optional peer loaded only when this is set). */
export interface PrometheusOptions {
  /**
   * The prom-client `Registry` to register on.
   * @default prom-client's global `register`
   */
  registry?: object;
  /**
   * Prefix of every metric name.
   * @default 'nestjs_events_'
   */
  prefix?: string;
  /**
   * Serve the registry's text format at this HTTP path (e.g. `/metrics`) on the app's HTTP server.
   * @default undefined (not served: expose the registry yourself)
   */
  path?: string;
  /**
   * How long (ms) a scrape reuses the queue gauges read from the transport.
   * @default 5000
   */
  cacheMs?: number;
}

/** `forRoot({ metrics })`: what `EventMetrics` records, and the Prometheus export. */
export interface MetricsOptions {
  /**
   * Time every in-process listener call (counts, durations, throughput per listener). Off by
   * default: in-process dispatch costs a few hundred ns, and timing it adds to that. Queued
   * listeners are always measured.
   * @default false
   */
  inProcess?: boolean;
  /**
   * Distinct event names counted under their own name; later ones count as `other` (snapshot and
   * Prometheus labels), so that names built from data cannot grow memory or series without bound.
   * @default 500
   */
  maxEventLabels?: number;
  /** Export to Prometheus through `prom-client`. @default undefined (no export) */
  prometheus?: PrometheusOptions;
}

/** The metrics options after defaults. */
export interface ResolvedMetricsOptions {
  readonly isEnabled: boolean;
  readonly inProcess: boolean;
  readonly maxEventLabels: number;
  readonly prometheus?: Readonly<Required<Omit<PrometheusOptions, 'registry' | 'path'>>> & {
    readonly registry?: object;
    readonly path?: string;
  };
}

function assertObject(option: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(option, value, 'an options object');
  }
}

function assertKeys(option: string, value: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new InvalidOptionError(
        `${option}.${key}`,
        value[key],
        `no such option (allowed: ${allowed.join(', ')})`,
      );
    }
  }
}

function resolvePrometheus(value: unknown): ResolvedMetricsOptions['prometheus'] {
  if (value === undefined) return undefined;
  assertObject('metrics.prometheus', value);
  assertKeys('metrics.prometheus', value, ['registry', 'prefix', 'path', 'cacheMs']);
  const { registry, path } = value;
  const prefix = value.prefix ?? 'nestjs_events_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) {
    throw new InvalidOptionError('metrics.prometheus.prefix', prefix, 'a Prometheus name prefix');
  }
  if (registry !== undefined && (registry === null || typeof registry !== 'object')) {
    throw new InvalidOptionError('metrics.prometheus.registry', registry, 'a prom-client Registry');
  }
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new InvalidOptionError('metrics.prometheus.path', path, 'an HTTP path such as /metrics');
  }
  const cacheMs = value.cacheMs ?? 5000;
  assertInteger('metrics.prometheus.cacheMs', cacheMs, 0, 3_600_000);
  return { registry, prefix, path, cacheMs };
}

/** `forRoot({ metrics })` after defaults; `false` records nothing. */
export function resolveMetricsOptions(value: unknown): ResolvedMetricsOptions {
  if (value === false) return { isEnabled: false, inProcess: false, maxEventLabels: 0 };
  if (value === undefined || value === true) value = {};
  assertObject('metrics', value);
  assertKeys('metrics', value, ['inProcess', 'maxEventLabels', 'prometheus']);
  const inProcess = value.inProcess ?? false;
  if (typeof inProcess !== 'boolean') {
    throw new InvalidOptionError('metrics.inProcess', inProcess, 'a boolean');
  }
  const maxEventLabels = value.maxEventLabels ?? 500;
  assertInteger('metrics.maxEventLabels', maxEventLabels, 1, 100_000);
  return {
    isEnabled: true,
    inProcess,
    maxEventLabels,
    prometheus: resolvePrometheus(value.prometheus),
  };
}
