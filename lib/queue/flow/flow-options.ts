import type { EventEnvelope } from '../../event/event-envelope.js';
import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import { parsePattern } from '../../discovery/pattern-trie.js';
import { assertInteger } from '../../option-assertions.js';

/**
 * `@ShouldQueue({ singleton })`: at most one job of a key runs at a time, across every worker.
 * `key` is a function of the event (`(e) => e.data.userId`), or a fixed string (one job of the
 * listener at a time).
 */
export interface SingletonOptions<E = EventEnvelope> {
  readonly key: string | ((event: E) => string);
  /**
   * `skip`: a job whose key has a running job is not run (dropped at emit, or acknowledged
   * without running when it starts). `cancel`: it aborts the running job (its `signal` fires
   * with a `JobCancelledError`, the job is acknowledged) and runs.
   */
  readonly mode: 'skip' | 'cancel';
}

/**
 * `@ShouldQueue({ cancelOn })`: a later event named `event` (a pattern) cancels this listener's
 * jobs for which `match(job, event)` is true: waiting and delayed ones are removed, running ones
 * aborted (`JobCancelledError`).
 */
export interface CancelOnOptions<E = EventEnvelope> {
  readonly event: string;
  readonly match: (job: E, event: EventEnvelope) => boolean;
}

/**
 * `@ShouldQueue({ debounce })`: one run per key after `delayMs` without a new event of the key,
 * with the last event (or all of them: `collect`); never later than `maxDelayMs` after the key's
 * first event.
 */
export interface DebounceOptions<E = EventEnvelope> {
  readonly key: string | ((event: E) => string);
  /** Quiet time (ms) after the last event. */
  readonly delayMs: number;
  /** Longest wait (ms) from the first event of a window; >= `delayMs`. @default undefined (none) */
  readonly maxDelayMs?: number;
  /**
   * The handler gets every event of the window, in emit order (an array), instead of the last.
   * @default false
   */
  readonly collect?: boolean;
}

/** The flow-control options of `@ShouldQueue`, validated by `assertFlowOptions`. */
export const FLOW_OPTION_KEYS = ['singleton', 'cancelOn', 'debounce'] as const;

/** Throws an `InvalidOptionError` naming the option and `where` unless the flow options are valid. */
export function assertFlowOptions(o: Readonly<Record<string, unknown>>, where: string): void {
  if (o.singleton !== undefined) assertSingleton(o.singleton, `@ShouldQueue singleton on ${where}`);
  if (o.cancelOn !== undefined) assertCancelOn(o.cancelOn, `@ShouldQueue cancelOn on ${where}`);
  if (o.debounce !== undefined) assertDebounce(o.debounce, `@ShouldQueue debounce on ${where}`);
  assertCombination(o, where);
}

/**
 * Options that cannot share a listener: a debounced job is one of many events, so it is neither
 * a singleton (the debounce already runs one per key) nor delayed by `delay` (its window is).
 */
function assertCombination(o: Readonly<Record<string, unknown>>, where: string): void {
  if (o.debounce === undefined) return;
  for (const other of ['singleton', 'delay']) {
    if (o[other] !== undefined) {
      throw new InvalidOptionError(
        `@ShouldQueue debounce on ${where}`,
        o.debounce,
        `no ${other} on the same listener (see the README's table of flow options that combine)`,
      );
    }
  }
}

function assertDebounce(value: unknown, option: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(option, value, '{ key, delayMs, maxDelayMs?, collect? }');
  }
  const { key, delayMs, maxDelayMs, collect, ...rest } = value as Record<string, unknown>;
  assertNoOther(option, rest, 'key, delayMs, maxDelayMs, collect');
  if (collect !== undefined && typeof collect !== 'boolean') {
    throw new InvalidOptionError(`${option}.collect`, collect, 'true or false');
  }
  assertKey(`${option}.key`, key);
  assertInteger(`${option}.delayMs`, delayMs, 1);
  if (maxDelayMs !== undefined) assertInteger(`${option}.maxDelayMs`, maxDelayMs, delayMs);
}

function assertCancelOn(value: unknown, option: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(option, value, '{ event, match: (job, event) => boolean }');
  }
  const { event, match, ...rest } = value as Record<string, unknown>;
  assertNoOther(option, rest, 'event, match');
  parsePattern(event, `${option}.event`);
  if (typeof match !== 'function') {
    throw new InvalidOptionError(`${option}.match`, match, 'a function (job, event) => boolean');
  }
}

function assertNoOther(option: string, rest: Record<string, unknown>, allowed: string): void {
  const other = Object.keys(rest)[0];
  if (other !== undefined) {
    throw new InvalidOptionError(
      `${option}.${other}`,
      rest[other],
      `no such option (allowed: ${allowed})`,
    );
  }
}

function assertSingleton(value: unknown, option: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(option, value, "{ key, mode: 'skip' | 'cancel' }");
  }
  const { key, mode, ...rest } = value as Record<string, unknown>;
  assertNoOther(option, rest, 'key, mode');
  assertKey(`${option}.key`, key);
  if (mode !== 'skip' && mode !== 'cancel') {
    throw new InvalidOptionError(`${option}.mode`, mode, "'skip' or 'cancel'");
  }
}

/** A flow key: a non-empty string, or a function of the event. */
export function assertKey(option: string, key: unknown): void {
  if (
    (typeof key === 'string' && key.length > 0 && key.length <= 128) ||
    typeof key === 'function'
  ) {
    return;
  }
  throw new InvalidOptionError(
    option,
    key,
    'a non-empty string of at most 128 characters, or a function (event) => string',
  );
}

/** The key of `event` for a listener's flow option; a bad result is a typed error naming both. */
export function resolveFlowKey(
  key: string | ((event: EventEnvelope) => string),
  event: EventEnvelope,
  option: string,
): string {
  let value: unknown;
  try {
    value = typeof key === 'function' ? key(event) : key;
  } catch (error) {
    throw new InvalidOptionError(option, error, 'a key function that does not throw');
  }
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > 128) {
    throw new InvalidOptionError(
      option,
      value,
      'a key function returning a non-empty string of at most 128 bytes',
    );
  }
  return value;
}
