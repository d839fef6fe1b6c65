import { resolveSchemas, type EventSchema } from './event/event-schema.js';
import { InvalidOptionError } from './errors/invalid-option.error.js';
import { assertInteger, assertName, envInteger, envString } from './option-assertions.js';
import {
  resolveEventStoreOptions,
  type EventStoreOptions,
  type ResolvedEventStoreOptions,
} from './store/event-store.options.js';
import {
  resolveDefaults,
  resolveWorker,
  type QueueDefaults,
  type ResolvedWorkerOptions,
  type WorkerOptions,
} from './queue/worker.options.js';
import type { EventMiddlewareRef } from './middleware/event-middleware.interface.js';
import {
  resolveMetricsOptions,
  type MetricsOptions,
  type ResolvedMetricsOptions,
} from './observability/metrics.options.js';
import {
  resolveMonitorOptions,
  type MonitorOptions,
  type ResolvedMonitorOptions,
} from './observability/queue-monitor.options.js';
import {
  resolveReplication,
  type ReplicationOptions,
  type ResolvedReplicationOptions,
} from './redis/redis-replication.options.js';
import {
  resolveOutboxOptions,
  type OutboxOptions,
  type ResolvedOutboxOptions,
} from './outbox/outbox.options.js';
import { resolveSchedules } from './scheduling/schedule-declarations.js';
import type { ScheduleDeclaration } from './scheduling/schedule.types.js';
import {
  resolveTracing,
  type ResolvedTracingOptions,
  type TracingOptions,
} from './tracing/tracing.options.js';
import {
  resolveCorrelation,
  type CorrelationOptions,
  type ResolvedCorrelationOptions,
} from './http/correlation.options.js';
import {
  resolveSagasOptions,
  type ResolvedSagasOptions,
  type SagasOptions,
} from './sagas/sagas.options.js';

export type {
  QueueDefaults,
  ResolvedWorkerOptions,
  WorkerOptions,
} from './queue/worker.options.js';

/** Options of `EventsModule.forRoot`. Every option can be left out. */
export interface EventsModuleOptions {
  /**
   * Redis for queued listeners: a `redis://` URL, ioredis options, an ioredis `Redis` or
   * `Cluster` client (a template, left open), or `{ cluster: [nodes], ...ClusterOptions }`.
   * Without it the embedded in-memory transport is used (not durable). Env: `EVENTS_REDIS_URL`.
   * @default undefined (embedded transport)
   */
  redis?: string | object; // `object`, not a Record: a client instance has no index signature
  /**
   * Prefix of every Redis key, so that several applications can share one Redis. Env: `EVENTS_PREFIX`.
   * @default 'events'
   */
  prefix?: string;
  /**
   * Run queued listeners in this process (`true`), or only produce jobs (`false`).
   * Env: `EVENTS_WORKER` (`true` or `false`; the command line sets `false` to load an app).
   * @default true
   */
  worker?: boolean | WorkerOptions;
  /**
   * Middleware around every listener call, outermost first.
   * @default []
   */
  middleware?: EventMiddlewareRef[];
  /**
   * How long (ms) a running job may go without a heartbeat before another worker reclaims it.
   * @default 30000
   */
  visibilityTimeout?: number;
  /** Defaults of queued listeners. */
  defaults?: QueueDefaults;
  /**
   * The largest serialized payload `emit` accepts for a queued listener, in bytes.
   * Env: `EVENTS_MAX_PAYLOAD_BYTES`.
   * @default 1048576 (1 MiB)
   */
  maxPayloadBytes?: number;
  /**
   * With Redis: the longest a Redis command may take (ms) before it fails with `TransportError`.
   * Bounds how long `emit` waits when Redis is unreachable or stalled; nothing is buffered while
   * the connection is down (`emit` fails at once). Env: `EVENTS_REDIS_COMMAND_TIMEOUT_MS`.
   * @default 5000
   */
  redisCommandTimeout?: number;
  /**
   * How long (ms) an emit that passes an explicit `id` is remembered per queued job: re-emitting
   * the same id within this window stores nothing twice, so retrying an emit that failed (or whose
   * outcome is unknown) is safe. Emits without an `id` pay nothing for it.
   * @default 3600000 (1 hour)
   */
  dedupeWindowMs?: number;
  /**
   * With a replicated Redis: emits (and settles with `settles: true`) wait for this many replicas
   * to acknowledge the write (`WAIT`), and reject with `ReplicationTimeoutError` when fewer do
   * within `timeoutMs` (the write is on the primary: its outcome is unknown). See the README.
   * @default undefined (no waiting)
   */
  replication?: ReplicationOptions;
  /**
   * The event store (`EventStore`, `EventReplayer`, `AggregateRepository`): its backend and
   * which emitted events the bus records. See `EventStoreOptions` for every sub-option.
   * @default { record: false } with the in-memory store
   */
  store?: EventStoreOptions;
  /**
   * Standard Schemas (zod, valibot, arktype, ...) by event name: `emit` validates the payload
   * (rejecting with `EventValidationError`) and listeners receive the schema's output; workers
   * check queued jobs again before their handler runs (dead letters, reason `invalid-payload`).
   * @default {}
   */
  schemas?: Readonly<Record<string, EventSchema>>;
  /**
   * Carry the event context (`EventContext`: correlation, causation, your own keys) across
   * `await` in in-process async listeners, through Node's `AsyncLocalStorage`. `false`: an async
   * listener sees it only until its first `await` (an emit after that starts a new correlation),
   * and in-process dispatch never enables `AsyncLocalStorage`, which on Node 20 taxes every
   * promise of the process. Middleware and queued listeners keep it either way.
   * @default true
   */
  asyncContext?: boolean;
  /**
   * The transactional outbox on PostgreSQL (`EventOutbox`): emits inside a transaction become
   * rows of it, delivered only after commit. See `OutboxOptions` for every sub-option.
   * @default undefined (no outbox)
   */
  outbox?: OutboxOptions;
  /**
   * What `EventMetrics` records (emits and queued attempts; in-process calls with
   * `inProcess: true`), and the Prometheus export. `false` records nothing.
   * @default { inProcess: false, maxEventLabels: 500 }
   */
  metrics?: boolean | MetricsOptions;
  /**
   * Backlog alerts: thresholds per queue, read every `intervalMs` by one process at a time, which
   * emits `QueueBusy` once when one is passed and `QueueRecovered` once when back under it.
   * @default undefined (no monitor)
   */
  monitor?: MonitorOptions;
  /**
   * Scheduled events declared at boot (each with an `id`; see `bus.schedule`): stored in the
   * transport unless the same schedule is there already, so restarts keep its due time.
   * @default []
   */
  schedules?: ScheduleDeclaration[];
  /**
   * OpenTelemetry spans through `@opentelemetry/api` (an optional peer): a PRODUCER span per emit
   * that stores queued jobs, a CONSUMER span per queued attempt, the trace context carried in
   * `metadata`. Left out: on when the package is installed (a no-op without an SDK); `true` or
   * `{ tracerName }`: on, and a missing package fails the boot; `false`: off.
   * @default on when `@opentelemetry/api` is installed
   */
  tracing?: boolean | TracingOptions;
  /**
   * What `EventCorrelationInterceptor` reads from HTTP requests: `{ header }`, the header that
   * carries the correlation id (echoed in the response).
   * @default { header: 'X-Correlation-ID' }
   */
  correlation?: CorrelationOptions;
  /** Orchestrated sagas: their store and sweeper. @default the transport's store */
  sagas?: SagasOptions;
}

/** The options after defaults, environment and validation: what the rest of the library injects. */
export interface ResolvedEventsOptions {
  readonly redis?: string | Record<string, unknown>;
  readonly prefix: string;
  readonly worker: ResolvedWorkerOptions;
  readonly middleware: readonly EventMiddlewareRef[];
  readonly visibilityTimeout: number;
  readonly defaults: Readonly<Required<QueueDefaults>>;
  readonly maxPayloadBytes: number;
  readonly redisCommandTimeout: number;
  readonly dedupeWindowMs: number;
  readonly replication: ResolvedReplicationOptions | undefined;
  readonly store: ResolvedEventStoreOptions;
  readonly schemas: ReadonlyMap<string, EventSchema>;
  readonly asyncContext: boolean;
  readonly outbox: ResolvedOutboxOptions | undefined;
  readonly metrics: ResolvedMetricsOptions;
  readonly monitor: ResolvedMonitorOptions | undefined;
  readonly schedules: readonly ScheduleDeclaration[];
  readonly tracing: ResolvedTracingOptions;
  readonly correlation: ResolvedCorrelationOptions;
  readonly sagas: ResolvedSagasOptions;
}

const OPTION_NAMES = [
  'redis',
  'prefix',
  'worker',
  'middleware',
  'visibilityTimeout',
  'defaults',
  'maxPayloadBytes',
  'redisCommandTimeout',
  'dedupeWindowMs',
  'replication',
  'asyncContext',
  'store',
  'schemas',
  'outbox',
  'metrics',
  'monitor',
  'schedules',
  'tracing',
  'correlation',
  'sagas',
  'isGlobal',
] as const;

/** `EVENTS_WORKER`: `true` or `false`; anything else is refused by `resolveWorker`. */
function envWorker(env: NodeJS.ProcessEnv): boolean | string | undefined {
  const raw = envString(env, 'EVENTS_WORKER');
  return raw === 'true' ? true : raw === 'false' ? false : raw;
}

function resolveRedis(value: unknown, option: string): ResolvedEventsOptions['redis'] {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (!/^(rediss?|unix):\/\/./.test(value)) {
      throw new InvalidOptionError(option, value, 'a redis://, rediss:// or unix:// URL');
    }
    return value;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw new InvalidOptionError(
    'redis',
    value,
    'a URL string, ioredis options or an ioredis client',
  );
}

/**
 * Applies defaults and `EVENTS_*` environment variables to raw module options, and validates them.
 * Explicit options win over the environment. Pure: reads only its arguments.
 *
 * @throws InvalidOptionError naming the option (or variable) and what it allows.
 */
export function resolveEventsOptions(
  options: EventsModuleOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedEventsOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('options', options, 'an options object');
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new InvalidOptionError(
        key,
        (options as Record<string, unknown>)[key],
        `no such option (allowed: ${OPTION_NAMES.filter((n) => n !== 'isGlobal').join(', ')})`,
      );
    }
  }
  const isGlobal = (options as { isGlobal?: unknown }).isGlobal;
  if (isGlobal !== undefined && typeof isGlobal !== 'boolean') {
    throw new InvalidOptionError('isGlobal', isGlobal, 'a boolean');
  }
  const redis = resolveRedis(
    options.redis ?? envString(env, 'EVENTS_REDIS_URL'),
    options.redis !== undefined ? 'redis' : 'EVENTS_REDIS_URL',
  );
  const prefix = options.prefix ?? envString(env, 'EVENTS_PREFIX') ?? 'events';
  assertName(options.prefix !== undefined ? 'prefix' : 'EVENTS_PREFIX', prefix);
  const middleware = options.middleware ?? [];
  if (
    !Array.isArray(middleware) ||
    middleware.some(
      (m) =>
        m === null ||
        (typeof m !== 'function' &&
          (typeof m !== 'object' || typeof (m as { use?: unknown }).use !== 'function')),
    )
  ) {
    throw new InvalidOptionError(
      'middleware',
      middleware,
      'an array of middleware classes or instances (objects with use())',
    );
  }
  const visibilityTimeout = options.visibilityTimeout ?? 30_000;
  assertInteger('visibilityTimeout', visibilityTimeout, 100);
  const maxPayloadBytes =
    options.maxPayloadBytes ?? envInteger(env, 'EVENTS_MAX_PAYLOAD_BYTES') ?? 1024 * 1024;
  assertInteger(
    options.maxPayloadBytes !== undefined ? 'maxPayloadBytes' : 'EVENTS_MAX_PAYLOAD_BYTES',
    maxPayloadBytes,
    1,
    512 * 1024 * 1024,
  );
  const redisCommandTimeout =
    options.redisCommandTimeout ?? envInteger(env, 'EVENTS_REDIS_COMMAND_TIMEOUT_MS') ?? 5000;
  assertInteger(
    options.redisCommandTimeout !== undefined
      ? 'redisCommandTimeout'
      : 'EVENTS_REDIS_COMMAND_TIMEOUT_MS',
    redisCommandTimeout,
    10,
    600_000,
  );
  const dedupeWindowMs = options.dedupeWindowMs ?? 3_600_000;
  assertInteger('dedupeWindowMs', dedupeWindowMs, 1, 30 * 24 * 3_600_000);
  const replication = resolveReplication(options.replication, redisCommandTimeout);
  const asyncContext = options.asyncContext ?? true;
  if (typeof asyncContext !== 'boolean') {
    throw new InvalidOptionError('asyncContext', asyncContext, 'a boolean');
  }
  return {
    redis,
    prefix,
    worker: resolveWorker(options.worker !== undefined ? options.worker : envWorker(env)),
    middleware: [...middleware],
    visibilityTimeout,
    defaults: resolveDefaults(options.defaults, env),
    maxPayloadBytes,
    redisCommandTimeout,
    dedupeWindowMs,
    replication,
    store: resolveEventStoreOptions(options.store),
    schemas: resolveSchemas(options.schemas),
    asyncContext,
    outbox: resolveOutboxOptions(options.outbox),
    metrics: resolveMetricsOptions(options.metrics),
    monitor: resolveMonitorOptions(options.monitor),
    schedules: resolveSchedules(options.schedules),
    tracing: resolveTracing(options.tracing),
    correlation: resolveCorrelation(options.correlation),
    sagas: resolveSagasOptions(options.sagas),
  };
}
