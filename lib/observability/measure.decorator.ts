import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { timeCall } from './time-call.js';

/** Where a measured method reports: set by `EventMetrics` on each provider instance at init. */
export const MEASURE_RECORDER = Symbol('nestjs-events:measure-recorder');
/** Metadata key: the class has `@Measure` methods (the instances `EventMetrics` equips). */
export const MEASURED_CLASS_METADATA = 'nestjs-events:measured';

/** What a measured call reports: its name, how long it took (ms), whether it threw or rejected. */
export type MeasureRecorder = (name: string, durationMs: number, isError: boolean) => void;

type Receiver = { [MEASURE_RECORDER]?: MeasureRecorder } | undefined;
type Method = (this: Receiver, ...args: unknown[]) => unknown;

function wrap(name: string, original: Method): Method {
  if (original.constructor.name === 'AsyncFunction') {
    // Still an async function: the listener explorer (and readers like it) tell sync from async
    // methods by their kind, and an async listener runs in the async event context.
    return async function (this: Receiver, ...args: unknown[]): Promise<unknown> {
      const record = this?.[MEASURE_RECORDER];
      if (record === undefined) return original.apply(this, args);
      const startedAt = performance.now();
      try {
        const value = await original.apply(this, args);
        record(name, performance.now() - startedAt, false);
        return value;
      } catch (error) {
        record(name, performance.now() - startedAt, true);
        throw error;
      }
    };
  }
  return function (this: Receiver, ...args: unknown[]): unknown {
    const record = this?.[MEASURE_RECORDER];
    if (record === undefined) return original.apply(this, args);
    return timeCall(
      () => original.apply(this, args),
      (durationMs, isFailed) => record(name, durationMs, isFailed),
    );
  };
}

/**
 * Records every call of a provider method under `name` in `EventMetrics.snapshot().measures`:
 * calls, errors (a throw or a rejection), and durations (a returned promise until it settles).
 * Works on any provider of the application (singletons, with `EventsModule` imported), listener
 * methods included; elsewhere the method runs unmeasured.
 *
 * @example
 * @Measure('event_processing')
 * async process(order: Order) { ... }
 * @throws InvalidOptionError when `name` is empty or the target is not a method.
 */
export function Measure(name: string): MethodDecorator {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new InvalidOptionError('@Measure name', name, 'a non-empty string');
  }
  return (target, propertyKey, descriptor) => {
    const original = descriptor.value as unknown;
    if (typeof original !== 'function') {
      throw new InvalidOptionError(
        `@Measure('${name}') on ${String(propertyKey)}`,
        original,
        'a method',
      );
    }
    const wrapped = wrap(name, original as Method);
    Object.defineProperty(wrapped, 'name', { value: (original as Method).name });
    // Decorators applied before this one wrote their metadata on the original function.
    for (const key of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapped);
    }
    Reflect.defineMetadata(MEASURED_CLASS_METADATA, true, target.constructor);
    (descriptor as PropertyDescriptor).value = wrapped;
    return descriptor;
  };
}
