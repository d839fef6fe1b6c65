import { assertPriority } from '../queue/job-priority.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { currentFrame, eventOfFrame, type Frame } from '../event/event-context.js';
import { createEventId } from '../event/event-id.js';
import { assertSerializable } from '../event/payload-check.js';
import { rememberWireForm } from '../event/event-schema.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import type { EmitOptions } from './emit-options.js';

/**
 * Builds the envelope of one emit whose name is known to be valid and whose payload passed its
 * validators, and checks the rest (id, metadata, delay, payload), so a bad emit throws before
 * anything is delivered. Metadata inherits the current event context: correlation, causation and
 * the app's own keys.
 *
 * @param data what listeners receive (a schema's output, when the name has a schema)
 * @param input what the caller gave: what a queue carries (the schema runs again in the worker),
 *   and what the payload check looks at
 */
export function createEnvelope(
  name: string,
  data: unknown,
  options: EmitOptions | undefined,
  input: unknown = data,
  version = 1,
): EventEnvelope {
  const timestamp = Date.now();
  const id = options?.id === undefined ? createEventId(timestamp) : checkedEventId(options.id);
  const parent = currentFrame();
  const metadata =
    parent === undefined && options?.metadata === undefined
      ? { correlationId: id }
      : inheritedMetadata(id, parent, options);
  // One payload contract: refused now whether or not a queued listener matches today. Checked
  // on what a queue would carry: the payload as given (a schema's input).
  checkOptionsAndPayload(name, input, options);
  const envelope =
    version === 1
      ? { id, name, data, metadata, timestamp }
      : { id, name, data, metadata, timestamp, version };
  return withData(envelope, data, input);
}

/**
 * The metadata of an emit inside another event's handling or with its own `metadata` option:
 * the context's keys, the option's keys (checked), then causation and correlation. Out of
 * `createEnvelope`, whose common case (neither) stays small enough to be inlined.
 */
function inheritedMetadata(
  id: string,
  parent: Frame | undefined,
  options: EmitOptions | undefined,
): Record<string, string> {
  const metadata = parent === undefined ? {} : copyMetadata(parent.metadata);
  if (options?.metadata !== undefined) {
    if (options.metadata === null || typeof options.metadata !== 'object') {
      throw new InvalidOptionError('metadata', options.metadata, 'an object of string values');
    }
    for (const [key, value] of Object.entries(options.metadata)) {
      if (typeof value !== 'string')
        throw new InvalidOptionError(`metadata.${key}`, value, 'a string');
      if (key !== '__proto__') metadata[key] = value;
    }
  }
  const cause = parent === undefined ? undefined : eventOfFrame(parent);
  if (cause) {
    metadata.causationId = cause.id;
    metadata.correlationId =
      options?.metadata?.correlationId ?? cause.metadata.correlationId ?? cause.id;
  }
  metadata.correlationId ??= id;
  return metadata;
}

/** The checks of an emit's options, and the payload check unless it is `inProcessOnly`. */
function checkOptionsAndPayload(
  name: string,
  input: unknown,
  options: EmitOptions | undefined,
): void {
  if (options?.delay !== undefined) assertInteger('delay', options.delay, 0);
  if (options?.priority !== undefined) assertPriority('priority', options.priority);
  if (options?.inProcessOnly === undefined || options.inProcessOnly === false) {
    assertSerializable(name, input);
  } else if (options.inProcessOnly !== true) {
    throw new InvalidOptionError('inProcessOnly', options.inProcessOnly, 'a boolean');
  }
}

/**
 * A copy of `metadata` to add keys to. Not a spread: on V8 a key added to a spread copy costs
 * microseconds (a new hidden class each time), and an event emitted inside another's handling
 * (a saga's output, a listener's emit) adds `causationId` to its copy. `__proto__` (an own key
 * of a parsed job's metadata) is skipped, as the options' keys are.
 */
function copyMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const key of Object.keys(metadata)) {
    if (key !== '__proto__') copy[key] = metadata[key];
  }
  return copy;
}

/**
 * `envelope` with `data` for listeners, remembering the schema's input when that differs (its
 * output): the same object when `data` is already its data and the input.
 */
export function withData(envelope: EventEnvelope, data: unknown, input: unknown): EventEnvelope {
  const out = envelope.data === data ? envelope : { ...envelope, data };
  return data === input ? out : rememberWireForm(out, input);
}

/** Longest id an emit may set: ids travel in every job, record and log line. */
export const MAX_EVENT_ID_LENGTH = 200;

/** Whether `text` has a C0 control character or DEL: an id also goes into log lines. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** The `id` emit option, checked: a non-empty string of printable characters, not too long. */
function checkedEventId(id: unknown): string {
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > MAX_EVENT_ID_LENGTH ||
    id.trim() !== id ||
    hasControlCharacter(id)
  ) {
    throw new InvalidOptionError(
      'id',
      id,
      `a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters, without control ` +
        'characters or surrounding spaces',
    );
  }
  return id;
}
