import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { InvalidStreamIdError } from '../errors/invalid-stream-id.error.js';
import { parsePattern } from '../discovery/pattern-trie.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { createEventId } from '../event/event-id.js';
import { assertEventName } from '../event/event-name.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import { compilePattern } from '../discovery/pattern-trie.js';
import {
  ExpectedVersion,
  type AllFilter,
  type NewEvent,
  type PreparedEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type TimeBound,
} from './event-store.types.js';

const NEW_EVENT_KEYS = new Set(['name', 'data', 'metadata', 'id', 'timestamp']);

// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;
/** The longest stream id accepted, in characters. */
export const MAX_STREAM_ID_LENGTH = 500;

/** Throws `InvalidStreamIdError` unless `streamId` is a usable stream id. */
export function assertStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string') throw new InvalidStreamIdError(streamId, 'it is not a string');
  if (streamId.length === 0) throw new InvalidStreamIdError(streamId, 'it is empty');
  if (streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new InvalidStreamIdError(streamId, `it has ${streamId.length} characters`);
  }
  if (CONTROL.test(streamId)) {
    throw new InvalidStreamIdError(streamId, 'it contains a control character');
  }
}

/** Throws `InvalidOptionError` unless `value` is a version, `'any'` or `'no_stream'`. */
export function assertExpectedVersion(value: unknown): asserts value is ExpectedVersion {
  if (value === ExpectedVersion.Any || value === ExpectedVersion.NoStream) return;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return;
  throw new InvalidOptionError(
    'expectedVersion',
    value,
    'an integer >= 0 (the stream version), ExpectedVersion.Any or ExpectedVersion.NoStream',
  );
}

/** Throws unless `value` is undefined or an integer >= `min`. */
export function assertOptionalInteger(option: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(option, value, `an integer >= ${min}`);
  }
}

/** Milliseconds of a time bound; throws unless it is a finite number or a valid `Date`. */
export function toMillis(option: string, value: TimeBound | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new InvalidOptionError(option, value, 'milliseconds since the epoch or a valid Date');
  }
  return ms;
}

/** The patterns of a read or subscription, validated; `undefined` means every event. */
export function toPatterns(
  option: string,
  value: string | readonly string[] | undefined,
): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const patterns = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw new InvalidOptionError(option, value, 'a pattern or a non-empty array of patterns');
  }
  for (const pattern of patterns) parsePattern(pattern, option);
  // `**` alone matches everything: no filter is cheaper than a filter that always passes.
  return patterns.includes('**') ? undefined : [...patterns];
}

/** Throws unless `options` is undefined or a plain object whose keys are all in `allowed`. */
export function assertOptionsObject(
  option: string,
  options: unknown,
  allowed: readonly string[],
): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(option, options, `an object { ${allowed.join(', ')} }`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new InvalidOptionError(
        `${option}.${key}`,
        (options as Record<string, unknown>)[key],
        `no such option (allowed: ${allowed.join(', ')})`,
      );
    }
  }
}

/** Validates a new event and serializes it, refusing what the store cannot keep. */
export function prepareEvent(
  event: NewEvent,
  index: number,
  now: number,
  maxPayloadBytes: number,
  versionOf?: (name: string) => number,
): PreparedEvent {
  const where = `events[${index}]`;
  if (event === null || typeof event !== 'object') {
    throw new InvalidOptionError(where, event, 'an event { name, data?, metadata? }');
  }
  for (const key of Object.keys(event)) {
    if (!NEW_EVENT_KEYS.has(key)) {
      throw new InvalidOptionError(
        `${where}.${key}`,
        (event as unknown as Record<string, unknown>)[key],
        'no such field (allowed: name, data, metadata, id, timestamp)',
      );
    }
  }
  assertEventName(event.name);
  const id = event.id ?? createEventId(now);
  if (typeof id !== 'string' || id.length === 0 || id.length > 200) {
    throw new InvalidOptionError(`${where}.id`, id, 'a non-empty string');
  }
  const timestamp = event.timestamp ?? now;
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) {
    throw new InvalidOptionError(`${where}.timestamp`, timestamp, 'milliseconds since the epoch');
  }
  const metadata: Record<string, string> = {};
  if (event.metadata !== undefined) {
    if (event.metadata === null || typeof event.metadata !== 'object') {
      throw new InvalidOptionError(`${where}.metadata`, event.metadata, 'an object of strings');
    }
    for (const [key, value] of Object.entries(event.metadata)) {
      if (typeof value !== 'string') {
        throw new InvalidOptionError(`${where}.metadata.${key}`, value, 'a string');
      }
      if (key !== '__proto__') metadata[key] = value;
    }
  }
  const version = versionOf?.(event.name) ?? 1;
  const envelope: EventEnvelope = { id, name: event.name, data: event.data, metadata, timestamp };
  if (version !== 1) Object.assign(envelope, { version });
  return {
    id,
    name: event.name,
    timestamp,
    payload: serializeEnvelope(envelope, maxPayloadBytes),
  };
}

/** The filter of a read of the global log, validated and compiled. */
export function toAllFilter(options: {
  pattern?: string | readonly string[];
  since?: ReadAllOptions['since'];
  until?: ReadAllOptions['until'];
  toPosition?: number;
}): AllFilter {
  const patterns = toPatterns('pattern', options.pattern);
  let matches: AllFilter['matches'];
  if (patterns) {
    const compiled = patterns.map(compilePattern);
    matches = compiled.length === 1 ? compiled[0] : (name) => compiled.some((match) => match(name));
  }
  return {
    patterns,
    matches,
    since: toMillis('since', options.since),
    until: toMillis('until', options.until),
    toPosition: options.toPosition,
  };
}

const READ_STREAM_OPTIONS = ['fromVersion', 'toVersion', 'backwards', 'limit'];
const READ_ALL_OPTIONS = ['fromPosition', 'toPosition', 'pattern', 'since', 'until', 'limit'];

/** Throws `InvalidOptionError` unless `options` are `readStream` options. */
export function assertReadStreamOptions(options: ReadStreamOptions): void {
  assertOptionsObject('readStream options', options, READ_STREAM_OPTIONS);
  assertOptionalInteger('fromVersion', options.fromVersion, 1);
  assertOptionalInteger('toVersion', options.toVersion, 1);
  assertOptionalInteger('limit', options.limit, 1);
  if (options.backwards !== undefined && typeof options.backwards !== 'boolean') {
    throw new InvalidOptionError('backwards', options.backwards, 'a boolean');
  }
}

/** Throws `InvalidOptionError` unless `options` are `readAll` options (the pattern aside). */
export function assertReadAllOptions(options: ReadAllOptions): void {
  assertOptionsObject('readAll options', options, READ_ALL_OPTIONS);
  assertOptionalInteger('fromPosition', options.fromPosition, 1);
  assertOptionalInteger('toPosition', options.toPosition, 1);
  assertOptionalInteger('limit', options.limit, 1);
}
