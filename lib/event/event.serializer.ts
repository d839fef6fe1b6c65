import type { EventEnvelope } from './event-envelope.js';
import { MalformedJobError } from '../errors/malformed-job.error.js';
import { PayloadTooLargeError, UnserializablePayloadError } from '../errors/payload.error.js';

export { MalformedJobError };

/** What a job carries: the envelope, and whether `data` was an instance of the event's class. */
interface WireEnvelope {
  id: string;
  name: string;
  data: unknown;
  metadata: Record<string, string>;
  timestamp: number;
  isClass?: 1;
}

/** What JSON would drop or silently turn into something else, described; undefined when fine. */
function unsupported(value: unknown): string | undefined {
  switch (typeof value) {
    case 'bigint':
      return 'a BigInt';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'number':
      return Number.isFinite(value) ? undefined : `a non-finite number (${String(value)})`;
    case 'object':
      if (value === null) return undefined;
      if (value instanceof Map) return 'a Map';
      if (value instanceof Set) return 'a Set';
      if (value instanceof WeakMap || value instanceof WeakSet) return 'a WeakMap or WeakSet';
      // An Error becomes {} and binary data an object of numbers: both lose what they held.
      if (value instanceof Error) return 'an Error (send its name and message instead)';
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
        return 'binary data (a Buffer or typed array; send it as base64 text instead)';
      }
      return undefined;
    default:
      return undefined;
  }
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  // `value` is what toJSON() returned; the holder still has the original (a Buffer, not its JSON).
  const original = (this as Record<string, unknown>)[key];
  const kind = unsupported(value) ?? (original !== value ? unsupported(original) : undefined);
  if (kind !== undefined) throw new Error(`${kind} at "${key || '(root)'}"`);
  return value;
}

/**
 * The JSON a queued job stores. Refuses, rather than silently changes, what JSON cannot carry.
 *
 * @throws UnserializablePayloadError, PayloadTooLargeError
 */
export function serializeEnvelope(envelope: EventEnvelope, maxBytes: number): string {
  const data = envelope.data;
  // Only an object with a prototype of its own is a class instance (not a plain, array or
  // null-prototype object); a worker rehydrates it when a class is known for the name.
  const proto: unknown = data !== null && typeof data === 'object' && Object.getPrototypeOf(data);
  const isClass = !!proto && proto !== Object.prototype && !Array.isArray(data);
  const wire: WireEnvelope = {
    id: envelope.id,
    name: envelope.name,
    data,
    metadata: envelope.metadata as Record<string, string>,
    timestamp: envelope.timestamp,
  };
  if (isClass) wire.isClass = 1;
  let json: string;
  try {
    json = JSON.stringify(wire, replacer);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UnserializablePayloadError(
      envelope.name,
      /circular/i.test(message) ? 'it contains a circular reference' : `it contains ${message}`,
    );
  }
  // Cheap bound first: a UTF-8 byte is at least one UTF-16 unit and at most three.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) throw new PayloadTooLargeError(envelope.name, bytes, maxBytes);
  }
  return json;
}

function dropProto(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/**
 * Reads a stored job back into an envelope; `__proto__` keys never reach an object.
 * `eventClass` rehydrates class events (their prototype, with the stored fields).
 *
 * @throws MalformedJobError when the JSON or its shape is wrong.
 */
export function deserializeEnvelope(
  json: string,
  eventClass: (name: string) => Function | undefined,
): EventEnvelope {
  let wire: WireEnvelope;
  try {
    // JSON.parse makes "__proto__" an own key, which a later Object.assign (ours, or a
    // listener's) turns into a prototype. The key may be written with \u escapes, so any escape
    // takes the slower, filtering parse; JSON.stringify only writes one for control characters.
    const mayHideProto = json.includes('__proto__') || json.includes('\\u');
    wire = (mayHideProto ? JSON.parse(json, dropProto) : JSON.parse(json)) as WireEnvelope;
  } catch (error) {
    throw new MalformedJobError(`malformed JSON (${(error as Error).message})`);
  }
  if (
    wire === null ||
    typeof wire !== 'object' ||
    typeof wire.id !== 'string' ||
    typeof wire.name !== 'string' ||
    typeof wire.timestamp !== 'number' ||
    wire.metadata === null ||
    typeof wire.metadata !== 'object' ||
    Array.isArray(wire.metadata) ||
    Object.values(wire.metadata).some((v) => typeof v !== 'string')
  ) {
    throw new MalformedJobError(
      'not an event envelope (id, name, timestamp and string metadata are required)',
    );
  }
  let data = wire.data;
  if (wire.isClass === 1 && data !== null && typeof data === 'object') {
    const cls = eventClass(wire.name);
    if (cls) data = Object.assign(Object.create(cls.prototype as object) as object, data);
  }
  return { id: wire.id, name: wire.name, data, metadata: wire.metadata, timestamp: wire.timestamp };
}
