import { SHOULD_QUEUE_METADATA } from '../events.constants.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type {
  IsTypedEvents,
  ListenerDecorator,
  ListenerSelector,
  SelectedEnvelope,
} from '../event/event-map.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertName, assertInteger } from '../option-assertions.js';
import { assertBackoff, type BackoffOption } from '../queue/backoff.js';
import { assertPriority } from '../queue/job-priority.js';
import {
  assertGroupOptions,
  GROUP_OPTION_KEYS,
  type GroupOptions,
} from '../queue/flow/group-options.js';
import {
  assertFlowOptions,
  FLOW_OPTION_KEYS,
  type CancelOnOptions,
  type DebounceOptions,
  type SingletonOptions,
} from '../queue/flow/flow-options.js';
import { assertBatchOptions, type BatchOptions } from '../queue/flow/batch-options.js';

/** Called once after the last failed attempt of a queued listener, with the provider as `this`. */
export type QueueFailureHook<T = unknown> = (event: EventEnvelope<T>, error: unknown) => unknown;

/** Refuses a method whose event parameter `onFailed` (taking `E`) could not take. */
type HookAccepts<M extends (...args: never[]) => unknown, E> =
  Parameters<M> extends []
    ? unknown
    : [Parameters<M>[0]] extends [E]
      ? unknown
      : { readonly 'onFailed must accept the event parameter of the method': E };

/**
 * What `@ShouldQueue` returns: a class decorator, and a method decorator. Once the event map is
 * declared, the method decorator checks `onFailed` against the method: with a selector given
 * (`@ShouldQueue<'order.created'>`) the method must accept its envelope; with `onFailed`'s own
 * parameter annotated, that parameter must accept whatever the method's does.
 */
export type ShouldQueueDecorator<S, E> = IsTypedEvents extends true
  ? ClassDecorator &
      ([S] extends [never]
        ? <M extends (...args: never[]) => unknown>(
            target: object,
            propertyKey: string | symbol,
            descriptor: TypedPropertyDescriptor<M> & HookAccepts<M, E>,
          ) => void
        : ListenerDecorator<E>)
  : ClassDecorator & MethodDecorator;

/**
 * The event `onFailed` gets when `@ShouldQueue` has no type argument: the first parameter of the
 * method it decorates (an envelope, or an array of them for a batched handler), else the untyped
 * `EventEnvelope`.
 */
export type HookEventOf<M> = M extends (event: infer A, ...rest: never[]) => unknown
  ? [A] extends [never]
    ? EventEnvelope
    : [A] extends [EventEnvelope<unknown, string>]
      ? A
      : [A] extends [readonly (infer I extends EventEnvelope<unknown, string>)[]]
        ? I
        : EventEnvelope
  : EventEnvelope;

/** The provider a hook runs on: the instance for a method's (or a class's) decorator. */
export type HookThisOf<T> = T extends abstract new (...args: never[]) => infer I ? I : T;

/**
 * `@ShouldQueue(options)` without a type argument: the decorator's target (the class, the method)
 * types `onFailed`, which TypeScript infers from where the decorator is applied. Also a class
 * decorator.
 */
export type InferredShouldQueueDecorator<M, T> = ClassDecorator &
  ((target: T, propertyKey: string | symbol, descriptor: TypedPropertyDescriptor<M>) => void);

/** Options of `@ShouldQueue`; what is left out comes from `forRoot({ defaults })`. */
export interface ShouldQueueOptions<E = EventEnvelope, This = unknown> extends GroupOptions<E> {
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
   * or the name of a method of the same provider. Its event is the decorated method's envelope
   * (and `this` the provider) when the function's parameters are left for TypeScript to infer,
   * or what `@ShouldQueue`'s type argument names
   * (`@ShouldQueue<'order.created'>({ onFailed: (e) => e.data.id })`).
   * @default undefined
   */
  onFailed?: ((this: This, event: E, error: unknown) => unknown) | string;
  /**
   * Decides per event whether the job is queued at all (called at emit time with the provider as
   * `this`; false: no job, the listener does not run for that event). One that throws fails the
   * emit before anything is stored. @default undefined (always queued)
   */
  when?: (this: This, event: E) => boolean;
  /**
   * From -10 to 10: while a job of a higher priority waits in the queue, no job of a lower one
   * starts; equal priorities start in emit order. An emit's `priority` option, then the event
   * class's `static readonly priority`, win over this one. @default 0
   */
  priority?: number;
  /**
   * Lifts a waiting job of this listener by one priority level per this many ms it has waited,
   * so that low priorities cannot starve behind a steady flow of higher ones.
   * @default undefined (no aging)
   */
  priorityAgingMs?: number;
  /**
   * One running job per key across every worker: a new job of a key that runs is skipped
   * (`mode: 'skip'`) or cancels the running one (`mode: 'cancel'`). See "Flow control" in the README.
   * @default undefined (no singleton)
   */
  singleton?: SingletonOptions<E>;
  /**
   * A later event named `event` cancels this listener's jobs that `match(job, event)`: waiting and
   * delayed ones are removed, running ones aborted. See "Flow control" in the README.
   * @default undefined
   */
  cancelOn?: CancelOnOptions<E>;
  /**
   * One run per key after `delayMs` without a new event of the key, with the last event, never
   * later than `maxDelayMs` after the first. See "Flow control" in the README.
   * @default undefined
   */
  debounce?: DebounceOptions<E>;
  /**
   * The handler gets an array of envelopes: up to `maxSize` jobs, or those that arrived within
   * `maxWaitMs` of the first, per `key`. The batch succeeds or fails as a unit, unless the
   * handler throws a `BatchItemsFailedError` naming the items that failed. See "Batched handlers"
   * in the README. @default undefined (one event per call)
   */
  batch?: BatchOptions<E>;
}

const KEYS = [
  'queue',
  'tries',
  'backoff',
  'delay',
  'timeout',
  'onFailed',
  'when',
  ...GROUP_OPTION_KEYS,
  'priority',
  'priorityAgingMs',
  ...FLOW_OPTION_KEYS,
  'batch',
];

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
  assertGroupOptions(o, where);
  if (o.priority !== undefined) assertPriority(`@ShouldQueue priority on ${where}`, o.priority);
  if (o.priorityAgingMs !== undefined) {
    assertInteger(`@ShouldQueue priorityAgingMs on ${where}`, o.priorityAgingMs, 1);
  }
  if (o.when !== undefined && typeof o.when !== 'function') {
    throw new InvalidOptionError(`@ShouldQueue when on ${where}`, o.when, 'a function');
  }
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
  assertFlowOptions(o, where);
  assertBatchOptions(o, where);
}

/**
 * Runs a listener from a durable queue instead of in the emitting call: with retries, backoff,
 * delay, timeout and dead letters. On a method (with `@OnEvent`) or on a class (all its listeners).
 *
 * @example
 * @OnEvent('order.created')
 * @ShouldQueue({ queue: 'emails', tries: 5, backoff: [1000, 5000, 30000], timeout: 30000 })
 * async sendConfirmation(event: EventEnvelope<{ id: string }>) {}
 *
 * // `onFailed` gets the method's envelope, and the provider as `this`:
 * @OnEvent('order.created')
 * @ShouldQueue({ onFailed(e, error) { this.log(e.data.id, error); } })
 * ship(event: EventEnvelope<{ id: string }>) {}
 */
export function ShouldQueue<M extends (...args: never[]) => unknown, T extends object>(
  options?: ShouldQueueOptions<HookEventOf<M>, HookThisOf<T>>,
): InferredShouldQueueDecorator<M, T>;
export function ShouldQueue<
  const S extends ListenerSelector | readonly ListenerSelector[] = never,
  E = SelectedEnvelope<S>,
>(options?: ShouldQueueOptions<E>): ShouldQueueDecorator<S, E>;
export function ShouldQueue<
  const S extends ListenerSelector | readonly ListenerSelector[] = never,
  E = SelectedEnvelope<S>,
>(options: ShouldQueueOptions<E> = {}): ShouldQueueDecorator<S, E> {
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const where = descriptor
      ? `${(target as object).constructor.name}.${String(key)}`
      : (target as Function).name;
    assertShouldQueueOptions(options, where);
    // A copy, down to the backoff: what was validated is what runs, whatever the caller's
    // object becomes later.
    const recorded = { ...options } as ShouldQueueOptions;
    if (Array.isArray(options.backoff)) recorded.backoff = [...(options.backoff as number[])];
    else if (typeof options.backoff === 'object') recorded.backoff = { ...options.backoff };
    Reflect.defineMetadata(
      SHOULD_QUEUE_METADATA,
      recorded,
      (descriptor ? descriptor.value : target) as object,
    );
  }) as ShouldQueueDecorator<S, E>;
}
