import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { InvalidStreamIdError } from '../errors/invalid-stream-id.error.js';
import { parsePattern } from '../discovery/pattern-trie.js';
import { ExpectedVersion, type TimeBound } from './event-store.types.js';

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
