import { UnserializablePayloadError } from '../errors/payload.error.js';
import { eventClassOf } from './event-name.js';

/**
 * The built-in types a queued listener receives as they were emitted (the serializer's own
 * list, `Object.prototype.toString` tags). They hold no nested payload to check.
 */
const CARRIED_TAGS = new Set([
  'Date',
  'RegExp',
  'URL',
  'URLSearchParams',
  'Number',
  'String',
  'Boolean',
  'BigInt',
  'ArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Float16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'Temporal.Duration',
  'Temporal.Instant',
  'Temporal.PlainDate',
  'Temporal.PlainTime',
  'Temporal.PlainDateTime',
  'Temporal.PlainMonthDay',
  'Temporal.PlainYearMonth',
  'Temporal.ZonedDateTime',
]);

const OBJECT_PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort().join('\0');

/** Plain as the serializer means it: `{}`, `Object.create(null)`, or an object of another realm. */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  return (
    proto === Object.prototype ||
    proto === null ||
    Object.getPrototypeOf(proto) === null ||
    Object.getOwnPropertyNames(proto).sort().join('\0') === OBJECT_PROTO_NAMES
  );
}

function hasEnumerableSymbols(value: object): boolean {
  for (const symbol of Object.getOwnPropertySymbols(value)) {
    if (Object.prototype.propertyIsEnumerable.call(value, symbol)) return true;
  }
  return false;
}

type Shape = 'leaf' | 'map' | 'set' | 'fields' | 'instance' | { refused: string };

/** How to walk an object that is not a plain object, an array, a Buffer or an event instance. */
function shapeOf(value: object, tag: string): Shape {
  if (CARRIED_TAGS.has(tag)) return 'leaf';
  if (typeof (value as { then?: unknown }).then === 'function') {
    return { refused: 'a Promise or thenable (await it before emitting)' };
  }
  if (tag === 'Map') return 'map';
  if (tag === 'Set') return 'set';
  if (tag === 'Error') return { refused: 'an Error (send its name and message instead)' };
  if (tag === 'WeakMap' || tag === 'WeakSet' || tag === 'WeakRef') return { refused: `a ${tag}` };
  if (isPlainObject(value)) return 'fields';
  if (tag === 'Object') return 'instance';
  return { refused: `a ${tag} object` };
}

/**
 * The plain form an instance of a class that is not an event class travels as, as JSON gave it:
 * its `toJSON()` result, or a copy of its own fields. Its prototype is not rebuilt.
 */
export function plainFormOf(value: object): unknown {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const out: unknown = toJSON.call(value, '');
    if (out !== value) return out;
  }
  return { ...value };
}

/** True for an instance of a class that is not an event class (it travels as `plainFormOf`). */
export function isOtherClassInstance(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return (
    proto !== Object.prototype &&
    proto !== null &&
    !Array.isArray(value) &&
    Object.prototype.toString.call(value) === '[object Object]' &&
    typeof (value as { then?: unknown }).then !== 'function' &&
    !isPlainObject(value) &&
    eventClassOf(value) === undefined
  );
}

/** A primitive that plain JSON writes and reads back unchanged. */
function isJsonPrimitive(value: unknown): boolean {
  // Each `typeof` compared at once (not a switch on it): the optimizing compiler then tests the
  // type directly instead of building the type's name on every emit.
  if (typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  return value === null;
}

/**
 * Walks a payload once, refusing what the serializer cannot carry, and telling whether plain
 * JSON would carry it unchanged (plain objects and arrays of JSON primitives, nothing shared).
 */
class PayloadWalk {
  isPlainJson = true;
  private readonly seen = new Set<object>();
  private readonly path: object[] = [];
  private readonly keys: (string | number)[] = [];

  constructor(private readonly eventName: string) {}

  check(value: unknown): void {
    switch (typeof value) {
      case 'function':
        return this.refuse('a function');
      case 'symbol':
        return this.refuse('a symbol');
      case 'object':
        if (value !== null) this.checkObject(value);
        return;
      default:
        if (!isJsonPrimitive(value)) this.isPlainJson = false;
        return;
    }
  }

  private checkObject(value: object): void {
    if (this.seen.has(value)) {
      this.isPlainJson = false;
      // A shared or circular reference is carried, except a cycle through an event class
      // instance: the class is rebuilt from its fields, which cannot contain it yet.
      const from = this.path.lastIndexOf(value);
      if (from >= 0 && this.path.slice(from).some((node) => eventClassOf(node) !== undefined)) {
        this.refuse('a circular reference through an event class instance');
      }
      return;
    }
    this.seen.add(value);
    const proto = Object.getPrototypeOf(value) as unknown;
    // The common shapes first: a plain object and an array need no tag.
    if (proto === Object.prototype) return this.walkFields(value);
    if (Array.isArray(value)) {
      this.path.push(value);
      for (let i = 0; i < value.length; i++) this.child(i, (value as unknown[])[i]);
      this.path.pop();
      return;
    }
    // Everything else needs more than JSON to come back as it was.
    this.isPlainJson = false;
    if (proto === null) return this.walkFields(value);
    // Buffers and typed arrays have their own tags; an event class instance has 'Object'.
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    if (tag === 'Object' && eventClassOf(value) !== undefined) return this.walkFields(value);
    const shape = shapeOf(value, tag);
    if (shape === 'leaf') return;
    if (shape === 'fields') return this.walkFields(value);
    if (typeof shape === 'object') return this.refuse(shape.refused);
    if (shape === 'instance') {
      // Carried as JSON carried it: its toJSON() result, or its own fields.
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON !== 'function') return this.walkFields(value);
      const out: unknown = toJSON.call(value, '');
      return out === value ? this.walkFields(value) : this.check(out);
    }
    this.path.push(value);
    if (shape === 'map') {
      for (const [key, item] of value as Map<unknown, unknown>) {
        this.child('(a Map key)', key);
        this.child(typeof key === 'string' ? key : '(a Map value)', item);
      }
    } else {
      for (const item of value as Set<unknown>) this.child('(a Set item)', item);
    }
    this.path.pop();
  }

  /** The own enumerable fields of a plain object or an event class instance. */
  private walkFields(value: object): void {
    if (hasEnumerableSymbols(value)) return this.refuse('an object with symbol keys');
    this.path.push(value);
    for (const key of Object.keys(value)) {
      // Never carried: the serializer drops it (it must never reach an object).
      if (key !== '__proto__') this.child(key, (value as Record<string, unknown>)[key]);
    }
    this.path.pop();
  }

  private child(key: string | number, value: unknown): void {
    const type = typeof value;
    if (type === 'object' ? value === null : type !== 'function' && type !== 'symbol') {
      if (this.isPlainJson && !isJsonPrimitive(value)) this.isPlainJson = false;
      return;
    }
    this.keys.push(key);
    this.check(value);
    this.keys.pop();
  }

  private refuse(kind: string): never {
    let at = 'data';
    for (const key of this.keys) at += typeof key === 'number' ? `[${key}]` : `.${key}`;
    throw new UnserializablePayloadError(this.eventName, `it contains ${kind} at ${at}`);
  }
}

const NOT_FLAT = 0;
const FLAT_JSON = 1;
const FLAT_OTHER = 2;

/** The most common payload, checked without allocating a walk: `{}` of primitives only. */
function flatKind(value: object): number {
  // The `__proto__` accessor, not `Object.getPrototypeOf`: the optimizing compiler turns this read
  // into a check of the object's shape, where `getPrototypeOf` calls into the runtime on every
  // emit. An own `__proto__` key (from `JSON.parse`) or a null prototype reads as something
  // else: such objects take the full walk, as any object that is not a plain `{}`.
  if ((value as { __proto__?: unknown }).__proto__ !== Object.prototype) return NOT_FLAT;
  let kind = FLAT_JSON;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (
      typeof item === 'object'
        ? item !== null
        : typeof item === 'function' || typeof item === 'symbol'
    ) {
      return NOT_FLAT;
    }
    if (kind === FLAT_JSON && !isJsonPrimitive(item)) kind = FLAT_OTHER;
  }
  return Object.getOwnPropertySymbols(value).length === 0 ? kind : NOT_FLAT;
}

/**
 * `assertSerializable`, telling also whether plain JSON carries `data` unchanged (the serializer
 * then writes it as plain JSON, readable in the store).
 *
 * @throws UnserializablePayloadError
 */
export function inspectPayload(eventName: string, data: unknown): boolean {
  if (
    data === null ||
    (typeof data !== 'object' && typeof data !== 'function' && typeof data !== 'symbol')
  ) {
    return isJsonPrimitive(data);
  }
  if (typeof data === 'object') {
    const kind = flatKind(data as object);
    if (kind !== NOT_FLAT) return kind === FLAT_JSON;
  }
  const walk = new PayloadWalk(eventName);
  walk.check(data);
  return walk.isPlainJson;
}

/**
 * Throws `UnserializablePayloadError` when `data` holds what a queued listener could not receive
 * as it was emitted: a function, a symbol, a Promise, an Error, a WeakMap, an object with symbol
 * keys, or a cycle through an event class instance. Everything else (plain data, `undefined`,
 * `BigInt`, `Date`, `Map`, `Set`, typed arrays, Buffers, cycles, event class instances) is
 * carried; instances of other classes travel as JSON carried them (`toJSON()` or their own
 * fields). A walk without serializing: cheap enough for every emit.
 *
 * @param eventName named in the error.
 */
export function assertSerializable(eventName: string, data: unknown): void {
  inspectPayload(eventName, data);
}
