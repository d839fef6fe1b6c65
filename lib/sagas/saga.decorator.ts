import type { Observable } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { EmitOptions } from '../bus/emit-options.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import { assertBackoff, type BackoffOption } from '../queue/backoff.js';
import { SAGA_METADATA } from './saga.constants.js';

/** What a reactive saga may emit: an event class instance, or a named event. */
export type SagaOutput =
  object | { readonly name: string; readonly data?: unknown; readonly options?: EmitOptions };

/** A reactive saga: turns the stream of events into the events it emits. */
export type SagaFunction = (events$: Observable<EventEnvelope>) => Observable<SagaOutput>;

/** Called once per event the saga gave up on, with the provider as `this`. */
export type SagaErrorHook = (error: unknown, event: EventEnvelope | undefined) => unknown;

/** Options of `@Saga`. */
export interface SagaOptions {
  /**
   * Called once for each failure the saga gives up on (after `retry`): an operator that threw, or
   * an output `emit` refused. A function called with the provider as `this`, or the name of a
   * method of the same provider. The saga goes on either way.
   * @default undefined (the failure is logged)
   */
  onError?: SagaErrorHook | string;
  /**
   * Feed an event whose handling threw to the saga again, up to `tries` times in total, waiting
   * `backoff` before each new try.
   * @default { tries: 1, backoff: 0 } (no retry)
   */
  retry?: { tries: number; backoff?: BackoffOption };
}

/** One `@Saga` member of a class, as recorded by the decorator. */
export interface SagaMetadata {
  readonly key: string | symbol;
  readonly options: SagaOptions;
}

const KEYS = ['onError', 'retry'];

function assertSagaOptions(options: unknown, where: string): asserts options is SagaOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(`@Saga on ${where}`, options, 'an options object');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) {
      throw new InvalidOptionError(`@Saga ${key} on ${where}`, o[key], 'onError or retry');
    }
  }
  if (o.onError !== undefined && typeof o.onError !== 'function' && typeof o.onError !== 'string') {
    throw new InvalidOptionError(
      `@Saga onError on ${where}`,
      o.onError,
      'a function or a method name',
    );
  }
  if (o.retry !== undefined) {
    const retry = o.retry as Record<string, unknown> | null;
    if (retry === null || typeof retry !== 'object') {
      throw new InvalidOptionError(`@Saga retry on ${where}`, retry, '{ tries, backoff? }');
    }
    assertInteger(`@Saga retry.tries on ${where}`, retry.tries, 1, 1000);
    if (retry.backoff !== undefined)
      assertBackoff(`@Saga retry.backoff on ${where}`, retry.backoff);
  }
}

/**
 * Marks a provider property or method as a reactive saga: a function from the stream of every
 * event to the events it emits through the `EventBus`. Outputs carry the triggering event's id as
 * `causationId` and its `correlationId`. An error never ends the saga: it is logged, handed to
 * `onError`, and the saga is subscribed again for the next event.
 *
 * @example
 * @Saga({ onError: 'report' })
 * orderPlaced = (events$: Observable<EventEnvelope>) =>
 *   events$.pipe(ofEvent('order.placed'), map((e) => ({ name: 'invoice.requested', data: e.data })));
 */
export function Saga(options: SagaOptions = {}): PropertyDecorator & MethodDecorator {
  return (target: object, key: string | symbol) => {
    const where = `${target.constructor.name}.${String(key)}`;
    assertSagaOptions(options, where);
    const ctor = target.constructor;
    const inherited =
      (Reflect.getMetadata(SAGA_METADATA, ctor) as SagaMetadata[] | undefined) ?? [];
    const recorded: SagaOptions = {
      ...options,
      retry: options.retry && { ...options.retry },
    };
    Reflect.defineMetadata(SAGA_METADATA, [...inherited, { key, options: recorded }], ctor);
  };
}
