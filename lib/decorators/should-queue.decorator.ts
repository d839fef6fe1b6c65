import { SHOULD_QUEUE_METADATA } from '../events.constants.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertName, assertInteger } from '../option-assertions.js';
import { assertBackoff, type BackoffOption } from '../queue/backoff.js';

/** Called once after the last failed attempt of a queued listener, with the provider as `this`. */
export type QueueFailureHook<T = unknown> = (event: EventEnvelope<T>, error: unknown) => unknown;

/** Options of `@ShouldQueue`; what is left out comes from `forRoot({ defaults })`. */
export interface ShouldQueueOptions {
  /** The queue that stores this listener's jobs. @default defaults.queue ('default') */
  queue?: string;
  /** Attempts in total, the first included. @default defaults.tries (1) */
  tries?: number;
  /** The wait before each retry. @default defaults.backoff (0) */
  backoff?: BackoffOption;
  /** Wait (ms) before the first attempt. @default 0 */
  delay?: number;
  /** Per-attempt time limit (ms); a timed-out attempt fails. 0 means none. @default defaults.timeout (0) */
  timeout?: number;
  /**
   * Runs once after the last failed attempt: a function called with the provider as `this`,
   * or the name of a method of the same provider.
   * @default undefined
   */
  onFailed?: QueueFailureHook | string;
}

const KEYS = ['queue', 'tries', 'backoff', 'delay', 'timeout', 'onFailed'];

/** Validates `@ShouldQueue` options at class definition time. */
export function assertShouldQueueOptions(
  options: unknown,
  where: string,
): asserts options is ShouldQueueOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(`@ShouldQueue on ${where}`, options, 'an options object');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) {
      throw new InvalidOptionError(
        `@ShouldQueue ${key} on ${where}`,
        o[key],
        `no such option (allowed: ${KEYS.join(', ')})`,
      );
    }
  }
  if (o.queue !== undefined) assertName(`@ShouldQueue queue on ${where}`, o.queue);
  if (o.tries !== undefined) assertInteger(`@ShouldQueue tries on ${where}`, o.tries, 1, 1000);
  if (o.backoff !== undefined) assertBackoff(`@ShouldQueue backoff on ${where}`, o.backoff);
  if (o.delay !== undefined) assertInteger(`@ShouldQueue delay on ${where}`, o.delay, 0);
  if (o.timeout !== undefined) assertInteger(`@ShouldQueue timeout on ${where}`, o.timeout, 0);
  if (
    o.onFailed !== undefined &&
    typeof o.onFailed !== 'function' &&
    typeof o.onFailed !== 'string'
  ) {
    throw new InvalidOptionError(
      `@ShouldQueue onFailed on ${where}`,
      o.onFailed,
      'a function or a method name',
    );
  }
}

/**
 * Runs a listener from a durable queue instead of in the emitting call: with retries, backoff,
 * delay, timeout and dead letters. On a method (with `@OnEvent`) or on a class (all its listeners).
 *
 * @example
 * @OnEvent('order.created')
 * @ShouldQueue({ queue: 'emails', tries: 5, backoff: [1000, 5000, 30000], timeout: 30000 })
 * async sendConfirmation(event: EventEnvelope<{ id: string }>) {}
 */
export function ShouldQueue(options: ShouldQueueOptions = {}): ClassDecorator & MethodDecorator {
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const where = descriptor
      ? `${(target as object).constructor.name}.${String(key)}`
      : (target as Function).name;
    assertShouldQueueOptions(options, where);
    // A copy, down to the backoff: what was validated is what runs, whatever the caller's
    // object becomes later.
    const recorded: ShouldQueueOptions = { ...options };
    if (Array.isArray(options.backoff)) recorded.backoff = [...(options.backoff as number[])];
    else if (typeof options.backoff === 'object') recorded.backoff = { ...options.backoff };
    Reflect.defineMetadata(
      SHOULD_QUEUE_METADATA,
      recorded,
      (descriptor ? descriptor.value : target) as object,
    );
  }) as ClassDecorator & MethodDecorator;
}
