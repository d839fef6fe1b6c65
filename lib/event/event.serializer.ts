import { Buffer } from 'node:buffer';
import { defaultStringifyOperations, stringify, unflatten } from 'devalue';
import type { EventEnvelope } from './event-envelope.js';
import { eventClassOf, getEventClassName } from './event-name.js';
import { TAGS_PREFIX } from './event-tags.js';
import {
  assertSerializable,
  inspectPayload,
  isOtherClassInstance,
  plainFormOf,
} from './payload-check.js';
import { MalformedJobError } from '../errors/malformed-job.error.js';
import { PayloadTooLargeError, UnserializablePayloadError } from '../errors/payload.error.js';

export { MalformedJobError };
export { assertSerializable };

/**
 * The format mark of what `serializeEnvelope` writes, the first field of every job and stored
 * event. A payload without it is the plain-JSON format of 0.1 (still read).
 */
export const PAYLOAD_FORMAT = 2;

/**
 * Format 2: `{"v":2,"id","name","metadata","at",...}` then either `"data"`, plain JSON when that
 * carries the payload unchanged (readable and queryable in the store), or `"dv"`, devalue's JSON
 * (Date, BigInt, Map, Set, undefined, typed arrays, cycles, event classes). A tagged event's
 * queued jobs carry `"tags"` right after `"v"` (readers that do not know it ignore it). The timestamp is
 * `at`, not `timestamp`, so a worker of 0.1 refuses the job as malformed (dead letter, retryable
 * after the upgrade) rather than misreading it.
 */
interface WireEnvelope {
  v?: number;
  id: string;
  name: string;
  data?: unknown;
  dv?: unknown;
  metadata: Record<string, string>;
  timestamp?: number;
  at?: number;
  /** Format 0.1 only: `data` was an instance of the event's class. */
  isClass?: 1;
  /** The event's version (`EventEnvelope.version`), written only when past 1. */
  ver?: number;
  /** The tags of a class event's queued jobs (`tags()`), when it has some. */
  tags?: string[];
}

const REDUCERS: Record<string, (value: unknown) => unknown> = {
  // A Buffer would come back as a plain Uint8Array; carried as base64 it stays a Buffer.
  Buffer: (value) => (Buffer.isBuffer(value) ? [value.toString('base64')] : undefined),
  // An event class instance travels as its name and own fields; the reader rebuilds it.
  Event: (value) => {
    const eventClass = eventClassOf(value);
    return eventClass === undefined
      ? undefined
      : [getEventClassName(eventClass), { ...(value as object) }];
  },
  // Any other class instance travels as JSON carried it (toJSON() or its own fields), plain.
  Instance: (value) =>
    value !== null && typeof value === 'object' && isOtherClassInstance(value)
      ? [plainFormOf(value)]
      : undefined,
};

const STRINGIFY_OPTIONS = {
  operations: {
    // A `__proto__` key (an own key made by JSON.parse) is dropped on the way, never carried.
    shapeOf: (value: unknown) => {
      const shape = defaultStringifyOperations.shapeOf(value);
      if ('keys' in shape && shape.keys.includes('__proto__')) {
        return { ...shape, keys: shape.keys.filter((key) => key !== '__proto__') };
      }
      return shape;
    },
  },
};

/**
 * The JSON text a queued job or a stored event carries: the envelope with its `data` as emitted
 * (see `assertSerializable` for what is carried), and the event's `tags` when given (checked by
 * `tagsOf`). Refuses, rather than silently changes, the rest.
 *
 * @throws UnserializablePayloadError, PayloadTooLargeError
 */
export function serializeEnvelope(
  envelope: EventEnvelope,
  maxBytes: number,
  tags?: readonly string[],
): string {
  let body: string;
  if (inspectPayload(envelope.name, envelope.data)) {
    body = `"data":${JSON.stringify(envelope.data)}`;
  } else {
    try {
      body = `"dv":${stringify(envelope.data, REDUCERS, STRINGIFY_OPTIONS)}`;
    } catch (error) {
      // The walk above refuses first; this is a backstop for what it did not foresee.
      const { message, path } = error as { message?: string; path?: string };
      throw new UnserializablePayloadError(
        envelope.name,
        `it cannot be serialized (${String(message)} at data${path ?? ''})`,
      );
    }
  }
  const head =
    tags === undefined || tags.length === 0
      ? `{"v":${PAYLOAD_FORMAT},`
      : `${TAGS_PREFIX}${JSON.stringify(tags)},`;
  const json =
    `${head}"id":${JSON.stringify(envelope.id)},` +
    `"name":${JSON.stringify(envelope.name)},"metadata":${JSON.stringify(envelope.metadata)},` +
    `"at":${envelope.timestamp},${versionField(envelope.version)}${body}}`;
  // Cheap bound first: a UTF-8 byte is at least one UTF-16 unit and at most three.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) throw new PayloadTooLargeError(envelope.name, bytes, maxBytes);
  }
  return json;
}

/** The start of every format-2 payload (see `serializeEnvelope`), tagged or not. */
const FORMAT_HEAD = `{"v":${PAYLOAD_FORMAT},`;
/**
 * The key of the event name. Inside a JSON string every `"` is escaped, so `,"name":"` only
 * occurs as a key; the fields before it (`v`, `tags`, `id`) hold no object that could have one.
 */
const NAME_KEY = ',"name":"';

/**
 * The event name of a format-2 payload, read without parsing the rest of it (watchers filter
 * jobs by name before paying for a parse). `undefined` when the payload is of another format
 * or its name cannot be read that way: parse it with `deserializeEnvelope` then.
 */
export function eventNameOfPayload(json: string): string | undefined {
  if (!json.startsWith(FORMAT_HEAD)) return undefined;
  const at = json.indexOf(NAME_KEY, FORMAT_HEAD.length);
  if (at < 0) return undefined;
  const start = at + NAME_KEY.length;
  const end = json.indexOf('"', start);
  if (end < 0) return undefined;
  const name = json.slice(start, end);
  // An escape in the name (a quote, a backslash): leave it to the full parse.
  return name.includes('\\') ? undefined : name;
}

/** `"ver":N,` for a version past 1 (version 1 is written as no field: older readers agree). */
function versionField(version: number | undefined): string {
  return version === undefined || version === 1 ? '' : `"ver":${version},`;
}

function dropProto(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

function malformedData(reason: string): never {
  throw new MalformedJobError(`malformed data (${reason})`);
}

/**
 * Reads a stored job or event back into an envelope: format 2 with the types it was emitted
 * with, or the plain JSON of 0.1. `__proto__` keys never reach an object. `eventClass` rebuilds
 * class events (their prototype, with the stored fields); unknown ones stay plain objects.
 *
 * @param attempt a queued attempt's number, set on the envelope (built with it rather than
 *   copied after: a copy costs more than the read on a worker's hot path)
 * @throws MalformedJobError when the JSON or its shape is wrong.
 */
export function deserializeEnvelope(
  json: string,
  eventClass: (name: string) => Function | undefined,
  attempt?: number,
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
  const isObject = wire !== null && typeof wire === 'object' && !Array.isArray(wire);
  const version = isObject ? wire.v : undefined;
  if (version !== undefined && version !== PAYLOAD_FORMAT) {
    throw new MalformedJobError(
      `payload format ${JSON.stringify(version)} is not known here (this version reads ` +
        `${PAYLOAD_FORMAT} and the plain JSON of 0.1): was it written by a newer release?`,
    );
  }
  const timestamp = version === undefined ? wire?.timestamp : wire.at;
  if (
    !isObject ||
    typeof wire.id !== 'string' ||
    typeof wire.name !== 'string' ||
    typeof timestamp !== 'number' ||
    wire.metadata === null ||
    typeof wire.metadata !== 'object' ||
    Array.isArray(wire.metadata) ||
    Object.values(wire.metadata).some((v) => typeof v !== 'string')
  ) {
    throw new MalformedJobError(
      'not an event envelope (id, name, timestamp and string metadata are required)',
    );
  }
  let data: unknown;
  if (version === undefined) data = legacyData(wire, eventClass);
  else if (wire.dv !== undefined) data = readData(wire.dv, eventClass);
  else if ('data' in wire) data = wire.data;
  else throw new MalformedJobError('no data (neither "data" nor "dv")');
  const { id, name, metadata, ver } = wire;
  if (ver !== undefined && (!Number.isSafeInteger(ver) || ver < 1))
    throw new MalformedJobError(`a bad event version (${JSON.stringify(ver)})`);
  if (attempt === undefined) {
    return ver === undefined
      ? { id, name, data, metadata, timestamp }
      : { id, name, data, metadata, timestamp, version: ver };
  }
  return ver === undefined
    ? { id, name, data, metadata, timestamp, attempt }
    : { id, name, data, metadata, timestamp, version: ver, attempt };
}

/** Format 2: devalue's flattened data, with our two revivers. */
function readData(dv: unknown, eventClass: (name: string) => Function | undefined) {
  const revivers = {
    Instance: (value: unknown) => {
      if (!Array.isArray(value)) malformedData('a bad class instance');
      return value[0] as unknown;
    },
    Buffer: (value: unknown) => {
      if (!Array.isArray(value) || typeof value[0] !== 'string') malformedData('a bad Buffer');
      return Buffer.from(value[0] as string, 'base64');
    },
    Event: (value: unknown) => {
      if (
        !Array.isArray(value) ||
        typeof value[0] !== 'string' ||
        value[1] === null ||
        typeof value[1] !== 'object'
      ) {
        malformedData('a bad event class instance');
      }
      const cls = eventClass(value[0] as string);
      const fields = value[1] as object;
      return cls ? Object.assign(Object.create(cls.prototype as object) as object, fields) : fields;
    },
  };
  try {
    return unflatten(dv as number | unknown[], revivers) as unknown;
  } catch (error) {
    if (error instanceof MalformedJobError) throw error;
    return malformedData((error as Error).message);
  }
}

/** Format 0.1: plain JSON, and a flag telling that `data` was an instance of the event's class. */
function legacyData(wire: WireEnvelope, eventClass: (name: string) => Function | undefined) {
  let data = wire.data;
  if (wire.isClass === 1 && data !== null && typeof data === 'object') {
    const cls = eventClass(wire.name);
    if (cls) data = Object.assign(Object.create(cls.prototype as object) as object, data);
  }
  return data;
}
