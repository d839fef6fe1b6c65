import { EVENT_NAME_METADATA } from '../events.constants.js';
import { InvalidEventNameError } from '../errors/invalid-event-name.error.js';

/** A class whose instances are events: it names them with `static readonly eventName`. */
export interface EventClass<T extends object = object> {
  new (...args: never[]): T;
  readonly eventName?: string;
}

const SEGMENT = /^[^\s.*]+$/;
// Names already checked: emitting the same names again costs one Set lookup. Bounded, so a
// stream of distinct names cannot grow it without limit.
const validNames = new Set<string>();
const MAX_CACHED_NAMES = 10_000;

/** Throws `InvalidEventNameError` unless `name` is a concrete dot-separated event name. */
export function assertEventName(name: unknown): asserts name is string {
  if (typeof name === 'string' && validNames.has(name)) return;
  if (typeof name !== 'string') throw new InvalidEventNameError(name, 'it is not a string');
  if (name.length === 0) throw new InvalidEventNameError(name, 'it is empty');
  if (name.includes('*')) {
    throw new InvalidEventNameError(
      name,
      'wildcards belong in listener patterns, not in emitted names',
    );
  }
  for (const segment of name.split('.')) {
    if (segment.length === 0) throw new InvalidEventNameError(name, 'it has an empty segment');
    if (!SEGMENT.test(segment)) throw new InvalidEventNameError(name, 'it contains white space');
  }
  if (validNames.size >= MAX_CACHED_NAMES) validNames.clear();
  validNames.add(name);
}

/** The explicit name of an event class, from `static eventName` or `@EventName()`. */
export function getEventClassName(eventClass: unknown): string {
  if (typeof eventClass !== 'function') {
    throw new InvalidEventNameError(eventClass, 'expected an event class');
  }
  const name =
    (Reflect.getOwnMetadata(EVENT_NAME_METADATA, eventClass) as string | undefined) ??
    (Object.prototype.hasOwnProperty.call(eventClass, 'eventName')
      ? (eventClass as EventClass).eventName
      : undefined);
  if (name === undefined) {
    throw new InvalidEventNameError(
      eventClass.name,
      `the class has no event name; declare "static readonly eventName = 'some.name'" ` +
        `or decorate it with @EventName('some.name') (class names are not used: minifiers change them)`,
    );
  }
  assertEventName(name);
  return name;
}

/**
 * The named event class `value` is an instance of, or `undefined` (plain objects, arrays, ...).
 * Read from the prototype, so an own `constructor` key in a plain object cannot fake it.
 */
export function eventClassOf(value: unknown): Function | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const ctor = (Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor;
  if (typeof ctor !== 'function' || ctor === Object) return undefined;
  return Reflect.hasOwnMetadata(EVENT_NAME_METADATA, ctor) ||
    Object.prototype.hasOwnProperty.call(ctor, 'eventName')
    ? ctor
    : undefined;
}

/** True when `value` is an instance of a named event class (not a plain object). */
export function isEventInstance(value: unknown): value is object {
  return eventClassOf(value) !== undefined;
}
