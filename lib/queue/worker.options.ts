import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger, assertName, envInteger, envString } from '../option-assertions.js';
import { assertBackoff, type BackoffOption } from './backoff.js';

/** Options of the queue worker that runs queued listeners in this process. */
export interface WorkerOptions {
  /**
   * Jobs run at once per queue: one number for every queue, or per queue name.
   * @default 1
   */
  concurrency?: number | Record<string, number>;
  /**
   * The queues this process works on. Omit to work on every queue that has a listener here.
   * @default every queue of this application's queued listeners
   */
  queues?: string[];
  /**
   * How long shutdown waits for running jobs (ms) before it aborts them and leaves them pending.
   * @default 10000
   */
  shutdownTimeout?: number;
  /**
   * How long (ms, from when the job was stored) a job whose listener id this process does not know
   * is put back for another worker (a newer one, during a rolling deploy) before it is
   * dead-lettered with reason `unknown-listener`. 0 dead-letters at once.
   * @default 300000 (5 minutes)
   */
  unknownListenerGraceMs?: number;
  /**
   * A job running longer than this (ms) is logged once as a warning (it holds its slot; consider
   * a `timeout`). 0 turns the warning off.
   * @default 60000
   */
  longRunningWarningMs?: number;
  /**
   * How long (ms, from when the job was stored) a job of an event version newer than this app
   * knows (its upcasters) is put back for an up-to-date worker before it is dead-lettered with
   * reason `unknown_version`. Its attempts are not counted meanwhile.
   * @default 300000 (5 minutes)
   */
  versionWaitMs?: number;
}

/** Defaults for queued listeners, overridden per listener by `@ShouldQueue`. */
export interface QueueDefaults {
  /**
   * The queue of listeners that name none. Env: `EVENTS_DEFAULT_QUEUE`.
   * @default 'default'
   */
  queue?: string;
  /**
   * Attempts in total, the first included. Env: `EVENTS_RETRY_ATTEMPTS`.
   * @default 1
   */
  tries?: number;
  /**
   * Wait before each retry: ms, a list of ms per retry, or exponential. Env: `EVENTS_RETRY_DELAY_MS`.
   * @default 0
   */
  backoff?: BackoffOption;
  /**
   * Per-attempt time limit in ms; 0 means none.
   * @default 0
   */
  timeout?: number;
}

/** Worker options after defaults. */
export interface ResolvedWorkerOptions {
  readonly enabled: boolean;
  readonly concurrency: number | Readonly<Record<string, number>>;
  readonly queues: readonly string[] | undefined;
  readonly shutdownTimeout: number;
  readonly unknownListenerGraceMs: number;
  readonly longRunningWarningMs: number;
  readonly versionWaitMs: number;
}

const WORKER_DURATIONS = ['unknownListenerGraceMs', 'longRunningWarningMs', 'versionWaitMs'];

export function resolveWorker(value: unknown): ResolvedWorkerOptions {
  const defaults: ResolvedWorkerOptions = {
    enabled: true,
    concurrency: 1,
    queues: undefined,
    shutdownTimeout: 10_000,
    unknownListenerGraceMs: 5 * 60_000,
    longRunningWarningMs: 60_000,
    versionWaitMs: 5 * 60_000,
  };
  const names = ['concurrency', 'queues', 'shutdownTimeout', ...WORKER_DURATIONS];
  if (value === undefined || value === true) return defaults;
  if (value === false) return { ...defaults, enabled: false };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('worker', value, `a boolean or { ${names.join(', ')} }`);
  }
  const worker = value as WorkerOptions;
  for (const key of Object.keys(worker)) {
    if (!names.includes(key)) {
      throw new InvalidOptionError(
        `worker.${key}`,
        (worker as Record<string, unknown>)[key],
        `no such option (allowed: ${names.join(', ')})`,
      );
    }
  }
  const concurrency = worker.concurrency ?? 1;
  if (typeof concurrency === 'number') assertInteger('worker.concurrency', concurrency, 1, 10_000);
  else if (concurrency !== null && typeof concurrency === 'object') {
    for (const [queue, n] of Object.entries(concurrency)) {
      assertName('worker.concurrency (queue name)', queue);
      assertInteger(`worker.concurrency.${queue}`, n, 1, 10_000);
    }
  } else {
    throw new InvalidOptionError(
      'worker.concurrency',
      concurrency,
      'an integer >= 1, or { [queue]: integer }',
    );
  }
  let queues: string[] | undefined;
  if (worker.queues !== undefined) {
    if (!Array.isArray(worker.queues)) {
      throw new InvalidOptionError('worker.queues', worker.queues, 'an array of queue names');
    }
    worker.queues.forEach((q) => assertName('worker.queues', q));
    queues = [...worker.queues];
  }
  const shutdownTimeout = worker.shutdownTimeout ?? defaults.shutdownTimeout;
  assertInteger('worker.shutdownTimeout', shutdownTimeout, 0);
  const unknownListenerGraceMs = worker.unknownListenerGraceMs ?? defaults.unknownListenerGraceMs;
  assertInteger('worker.unknownListenerGraceMs', unknownListenerGraceMs, 0);
  const longRunningWarningMs = worker.longRunningWarningMs ?? defaults.longRunningWarningMs;
  assertInteger('worker.longRunningWarningMs', longRunningWarningMs, 0);
  const versionWaitMs = worker.versionWaitMs ?? defaults.versionWaitMs;
  assertInteger('worker.versionWaitMs', versionWaitMs, 0);
  return {
    enabled: true,
    concurrency,
    queues,
    shutdownTimeout,
    unknownListenerGraceMs,
    longRunningWarningMs,
    versionWaitMs,
  };
}

export function resolveDefaults(
  value: unknown,
  env: NodeJS.ProcessEnv,
): Readonly<Required<QueueDefaults>> {
  if (
    value !== undefined &&
    (value === null || typeof value !== 'object' || Array.isArray(value))
  ) {
    throw new InvalidOptionError('defaults', value, 'an object { queue, tries, backoff, timeout }');
  }
  const given = (value ?? {}) as QueueDefaults;
  for (const key of Object.keys(given)) {
    if (!['queue', 'tries', 'backoff', 'timeout'].includes(key)) {
      throw new InvalidOptionError(
        `defaults.${key}`,
        (given as Record<string, unknown>)[key],
        'no such option (allowed: queue, tries, backoff, timeout)',
      );
    }
  }
  const queue = given.queue ?? envString(env, 'EVENTS_DEFAULT_QUEUE') ?? 'default';
  assertName(given.queue !== undefined ? 'defaults.queue' : 'EVENTS_DEFAULT_QUEUE', queue);
  const tries = given.tries ?? envInteger(env, 'EVENTS_RETRY_ATTEMPTS') ?? 1;
  assertInteger(
    given.tries !== undefined ? 'defaults.tries' : 'EVENTS_RETRY_ATTEMPTS',
    tries,
    1,
    1000,
  );
  const backoff = given.backoff ?? envInteger(env, 'EVENTS_RETRY_DELAY_MS') ?? 0;
  assertBackoff(
    given.backoff !== undefined ? 'defaults.backoff' : 'EVENTS_RETRY_DELAY_MS',
    backoff,
  );
  const timeout = given.timeout ?? 0;
  assertInteger('defaults.timeout', timeout, 0);
  return { queue, tries, backoff, timeout };
}
