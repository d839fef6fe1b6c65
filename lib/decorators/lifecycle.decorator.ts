import { InvalidPatternError } from '../errors/invalid-pattern.error.js';
import { OnEvent, type OnEventOptions } from './on-event.decorator.js';

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
  return OnEvent(`${name}.${phase}`, options as OnEventOptions<unknown>);
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
  name: string,
  options: OnEventOptions<T> = {},
): MethodDecorator {
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
  name: string,
  options: OnEventOptions<AfterEventData<T, R>> = {},
): MethodDecorator {
  return lifecycle('after', name, options as OnEventOptions);
}

/**
 * Listens to `<name>.failed`, emitted by `bus.around` with `{ data, error }` when the action
 * threw (`around` then rethrows). Sugar for `@OnEvent(name + '.failed')`.
 */
export function Failed<T = unknown>(
  name: string,
  options: OnEventOptions<FailedEventData<T>> = {},
): MethodDecorator {
  return lifecycle('failed', name, options as OnEventOptions);
}
