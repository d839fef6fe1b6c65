import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { getEventClassName } from '../event/event-name.js';
import { assertEventName } from '../event/event-name.js';
import { assertInteger } from '../option-assertions.js';

/** Metadata key: the `@Upcaster` of a method. */
export const UPCASTER_METADATA = 'nestjs-events:upcaster';

/** What `@Upcaster` records. */
export interface UpcasterMetadata {
  readonly name: string;
  readonly from: number;
  /** The class given instead of a name (its `eventVersion` is the chain's end). */
  readonly eventClass?: Function;
}

/**
 * Marks a provider method `(data, envelope) => newData` as the upcaster of `name` (or of an event
 * class) from version `from` to `from + 1`. The upcasters of one event form one chain, from
 * version 1 to its current version; they run wherever an older event is read (the worker, event
 * store reads and subscriptions, replay), so listeners always see the current version.
 *
 * @example
 * @Upcaster('order.placed', { from: 1 })
 * toV2(data: { total: number }) { return { ...data, currency: 'EUR' }; }
 */
export function Upcaster(
  nameOrClass: string | Function,
  options: { from: number },
): MethodDecorator {
  const name = typeof nameOrClass === 'function' ? getEventClassName(nameOrClass) : nameOrClass;
  assertEventName(name);
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`@Upcaster(${name})`, options, 'an options object { from }');
  }
  assertInteger(`@Upcaster(${name}) from`, options.from, 1);
  const metadata: UpcasterMetadata = {
    name,
    from: options.from,
    ...(typeof nameOrClass === 'function' && { eventClass: nameOrClass }),
  };
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(UPCASTER_METADATA, metadata, descriptor.value as object);
  };
}
