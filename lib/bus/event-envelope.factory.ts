import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import { createEventId } from '../event/event-id.js';
import { assertEventName, eventClassOf, getEventClassName } from '../event/event-name.js';
import { assertSerializable } from '../event/payload-check.js';
import { rememberWireForm } from '../event/event-schema.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import type { EventValidators } from '../middleware/event-validators.js';
import type { EmitOptions } from './emit-options.js';

/**
 * Builds the envelope of one emit and validates everything about it (name, class, payload
 * validators, metadata, delay), so a bad emit throws before anything is delivered. Metadata
 * inherits the current event context: correlation, causation and the app's own keys.
 *
 * An event whose schema answers with a promise (async refinements) gives a promise of the
 * envelope, which rejects with `EventValidationError`: the caller awaits it before anything is
 * stored or runs. Every other emit (no schema, a sync schema) stays synchronous.
 */
export function createEnvelope(
  nameOrEvent: unknown,
  dataOrOptions: unknown,
  maybeOptions: EmitOptions | undefined,
  validators: EventValidators,
  registry: ListenerRegistry,
): EventEnvelope | Promise<EventEnvelope> {
  let name: string;
  let data: unknown;
  let options: EmitOptions | undefined;
  let eventClass: Function | undefined;
  // What the caller gave: what a queue carries (the schema runs again in the worker).
  const input = typeof nameOrEvent === 'string' ? dataOrOptions : nameOrEvent;
  let pending: Promise<unknown> | undefined;
  if (typeof nameOrEvent === 'string') {
    assertEventName(nameOrEvent);
    name = nameOrEvent;
    data = dataOrOptions;
    options = maybeOptions;
    // A schema's output (transforms, coercions, defaults) is what every listener receives.
    if (validators.hasNamed) {
      data = validators.checkNamed(name, data);
      if (data instanceof Promise && validators.schemaOf(name) !== undefined) pending = data;
    }
  } else if ((eventClass = eventClassOf(nameOrEvent)) !== undefined) {
    name = getEventClassName(eventClass);
    const checked = validators.checkInstance(name, nameOrEvent as object);
    if (checked instanceof Promise) pending = checked.then(() => nameOrEvent);
    registry.rememberEventClass(name, eventClass);
    data = nameOrEvent;
    options = dataOrOptions as EmitOptions | undefined;
  } else {
    // Throws the precise reason (not a string, a class without a name, ...).
    assertEventName(
      typeof nameOrEvent === 'object' && nameOrEvent !== null
        ? getEventClassName(Object.getPrototypeOf(nameOrEvent)?.constructor)
        : nameOrEvent,
    );
    throw new Error('unreachable');
  }
  // A check below may throw first: the caller then never awaits the schema's verdict.
  pending?.catch(noop);
  const timestamp = Date.now();
  const id = options?.id === undefined ? createEventId(timestamp) : checkedEventId(options.id);
  const parent = EventContext.current();
  let metadata: Record<string, string>;
  if (parent === undefined && options?.metadata === undefined) {
    metadata = { correlationId: id };
  } else {
    metadata = { ...parent?.metadata };
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
    if (parent?.event) {
      metadata.causationId = parent.event.id;
      metadata.correlationId =
        options?.metadata?.correlationId ?? parent.event.metadata.correlationId ?? parent.event.id;
    }
    metadata.correlationId ??= id;
  }
  if (options?.delay !== undefined) assertInteger('delay', options.delay, 0);
  // One payload contract: refused now whether or not a queued listener matches today. Checked
  // on what a queue would carry: the payload as given (a schema's input).
  if (options?.inProcessOnly === undefined || options.inProcessOnly === false) {
    assertSerializable(name, input);
  } else if (options.inProcessOnly !== true) {
    throw new InvalidOptionError('inProcessOnly', options.inProcessOnly, 'a boolean');
  }
  if (pending !== undefined) {
    return pending.then((value) =>
      withInput({ id, name, data: value, metadata, timestamp }, input),
    );
  }
  return withInput({ id, name, data, metadata, timestamp }, input);
}

function noop(): void {}

/** The envelope, remembering the schema's input when listeners get another value (its output). */
function withInput(envelope: EventEnvelope, input: unknown): EventEnvelope {
  return envelope.data === input ? envelope : rememberWireForm(envelope, input);
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

/** The options argument of an emit: third after a name, second after an event instance. */
export function optionsOf(
  nameOrEvent: unknown,
  dataOrOptions: unknown,
  maybeOptions: EmitOptions | undefined,
): EmitOptions | undefined {
  return typeof nameOrEvent === 'string'
    ? maybeOptions
    : (dataOrOptions as EmitOptions | undefined);
}
