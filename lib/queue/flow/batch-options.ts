import type { EventEnvelope } from '../../event/event-envelope.js';
import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import { assertInteger } from '../../option-assertions.js';
import { assertKey, resolveFlowKey } from './flow-options.js';

/** Largest `batch.maxSize`. */
export const MAX_BATCH_SIZE = 10_000;
/** Longest `batch.maxWaitMs` (one hour). */
export const MAX_BATCH_WAIT_MS = 3_600_000;

/**
 * `@ShouldQueue({ batch })`: the handler gets an array of envelopes, up to `maxSize` jobs, or
 * those that arrived within `maxWaitMs` of the batch's first, per `key` when given.
 */
export interface BatchOptions<E = EventEnvelope> {
  /** Most jobs in one batch. */
  readonly maxSize: number;
  /** Longest wait (ms) from a batch's first job before it runs without being full; 0: no wait. */
  readonly maxWaitMs: number;
  /**
   * Batches hold jobs of one key: a function of the envelope, or the name of a metadata key
   * (`'tenantId'`; jobs without it share one batch key). @default undefined (one key)
   */
  readonly key?: string | ((event: E) => string);
}

/** The batch key of jobs whose metadata lacks the `key` named. */
export const DEFAULT_BATCH_KEY = '';

/** Options a batched listener does not take: each job is not a run of its own there. */
const NOT_WITH_BATCH = [
  'group',
  'groupWeight',
  'groupConcurrency',
  'groupRateLimit',
  'singleton',
  'debounce',
  'cancelOn',
];

/** Throws an `InvalidOptionError` naming the option and `where` unless `batch` is valid. */
export function assertBatchOptions(o: Readonly<Record<string, unknown>>, where: string): void {
  const value = o.batch;
  if (value === undefined) return;
  const option = `@ShouldQueue batch on ${where}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(option, value, '{ maxSize, maxWaitMs, key? }');
  }
  const { maxSize, maxWaitMs, key, ...rest } = value as Record<string, unknown>;
  const other = Object.keys(rest)[0];
  if (other !== undefined) {
    throw new InvalidOptionError(
      `${option}.${other}`,
      rest[other],
      'no such option (allowed: maxSize, maxWaitMs, key)',
    );
  }
  assertInteger(`${option}.maxSize`, maxSize, 1, MAX_BATCH_SIZE);
  assertInteger(`${option}.maxWaitMs`, maxWaitMs, 0, MAX_BATCH_WAIT_MS);
  if (key !== undefined) assertKey(`${option}.key`, key);
  for (const name of NOT_WITH_BATCH) {
    if (o[name] !== undefined) {
      throw new InvalidOptionError(
        option,
        value,
        `no ${name} on the same listener (see the README's table of flow options that combine)`,
      );
    }
  }
}

/** The batch key of `event` for a listener's `batch` option. @throws InvalidOptionError */
export function batchKey(options: BatchOptions, event: EventEnvelope, listener: string): string {
  const key = options.key;
  if (key === undefined) return DEFAULT_BATCH_KEY;
  if (typeof key === 'string') return event.metadata[key] ?? DEFAULT_BATCH_KEY;
  return resolveFlowKey(key, event, `@ShouldQueue batch.key on ${listener}`);
}

/** The `batch` option of a listener, its key function bound to the provider. */
export function bindBatchKey(options: BatchOptions, instance: unknown): BatchOptions {
  const key = options.key;
  return typeof key === 'function' ? { ...options, key: key.bind(instance) } : { ...options };
}

/**
 * A batched listener takes no part in group scheduling: refuses one on a queue where another
 * listener has a group, and a grouped listener on a queue with a batched one.
 * @throws InvalidOptionError naming both listeners and the queue.
 */
export function refuseBatchOnGroupedQueue(
  definition: ListenerDefinition,
  others: Iterable<{ readonly definition: ListenerDefinition }>,
): void {
  const queue = definition.queue;
  if (queue === undefined || (queue.batch === undefined && queue.group === undefined)) return;
  for (const { definition: other } of others) {
    if (other.queue?.queue !== queue.queue) continue;
    const [batched, grouped] =
      queue.batch !== undefined ? [definition, other] : [other, definition];
    if (batched.queue?.batch === undefined || grouped.queue?.group === undefined) continue;
    throw new InvalidOptionError(
      `@ShouldQueue batch on ${batched.id}`,
      batched.queue.batch,
      `no batch: listener "${grouped.id}" has a group on the same queue "${queue.queue}" ` +
        '(a queue is either grouped or batched)',
    );
  }
}
