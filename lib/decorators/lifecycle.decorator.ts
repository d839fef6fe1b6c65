import { InvalidPatternError } from '../errors/invalid-pattern.error.js';
import { OnEvent, type OnEventOptions } from './on-event.decorator.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type {
  EventMap,
  ListenerDecorator,
  MappedEventName,
  UntypedOnly,
} from '../event/event-map.js';

/** The payload of `<name>.after`, emitted by `bus.around` once the action resolved. */
export interface AfterEventData<T = unknown, R = unknown> {
  /** What was given to `around`. */
  readonly data: T;
  /** What the action resolved to. */
  readonly result: R;
}

/** The payload of `<name>.failed`, emitted by `bus.around` when the action threw. */
export interface FailedEventData<T = unknown> {
  /** What was given to `around`. */
  readonly data: T;
  /** The error, as plain data (it may travel to queued listeners). */
  readonly error: { readonly name: string; readonly message: string; readonly code?: string };
}

function lifecycle(phase: 'before' | 'after' | 'failed', name: string, options: OnEventOptions) {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidPatternError(
      name,
      `expected the action name (as given to bus.around)`,
      `@${phase[0].toUpperCase()}${phase.slice(1)}`,
    );
  }
  // The derived name is outside the event map: the typed overloads of Before/After/Failed
  // already checked `name`.
  return OnEvent(`${name}.${phase}` as never, options as OnEventOptions<unknown>);
}

/**
 * Listens to `<name>.before`, emitted by `bus.around(name, data, action)` before the action.
 * The listener gets `data`; a listener that throws cancels the action (`around` rejects with
 * `ListenersFailedError`). Sugar for `@OnEvent(name + '.before')`; keep it in-process (a queued
 * listener cannot cancel anything).
 *
 * @example
 * @Before('user.save')
 * checkQuota(event: EventEnvelope<User>) { if (this.isFull()) throw new Error('quota reached'); }
 */
export function Before<T = unknown>(
  name: UntypedOnly<string>,
  options?: OnEventOptions<T>,
): MethodDecorator;
export function Before<N extends MappedEventName>(
  name: N,
  options?: OnEventOptions<unknown, EventEnvelope<EventMap[N], `${N}.before`>>,
): ListenerDecorator<EventEnvelope<EventMap[N], `${N}.before`>>;
export function Before(name: string, options: OnEventOptions<never, never> = {}): MethodDecorator {
  return lifecycle('before', name, options as OnEventOptions);
}

/**
 * Listens to `<name>.after`, emitted by `bus.around` with `{ data, result }` once the action
 * resolved. Sugar for `@OnEvent(name + '.after')`; may be combined with `@ShouldQueue`.
 *
 * @example
 * @After('user.save')
 * welcome(event: EventEnvelope<AfterEventData<User, SavedUser>>) {}
 */
export function After<T = unknown, R = unknown>(
  name: UntypedOnly<string>,
  options?: OnEventOptions<AfterEventData<T, R>>,
): MethodDecorator;
export function After<N extends MappedEventName, R = unknown>(
  name: N,
  options?: OnEventOptions<unknown, EventEnvelope<AfterEventData<EventMap[N], R>, `${N}.after`>>,
): ListenerDecorator<EventEnvelope<AfterEventData<EventMap[N], R>, `${N}.after`>>;
export function After(name: string, options: OnEventOptions<never, never> = {}): MethodDecorator {
  return lifecycle('after', name, options as OnEventOptions);
}

/**
 * Listens to `<name>.failed`, emitted by `bus.around` with `{ data, error }` when the action
 * threw (`around` then rethrows). Sugar for `@OnEvent(name + '.failed')`.
 */
export function Failed<T = unknown>(
  name: UntypedOnly<string>,
  options?: OnEventOptions<FailedEventData<T>>,
): MethodDecorator;
export function Failed<N extends MappedEventName>(
  name: N,
  options?: OnEventOptions<unknown, EventEnvelope<FailedEventData<EventMap[N]>, `${N}.failed`>>,
): ListenerDecorator<EventEnvelope<FailedEventData<EventMap[N]>, `${N}.failed`>>;
export function Failed(name: string, options: OnEventOptions<never, never> = {}): MethodDecorator {
  return lifecycle('failed', name, options as OnEventOptions);
}
