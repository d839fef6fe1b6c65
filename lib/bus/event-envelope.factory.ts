import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import { createEventId } from '../event/event-id.js';
import { assertEventName, eventClassOf, getEventClassName } from '../event/event-name.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import type { EventValidators } from '../middleware/event-validators.js';
import type { EmitOptions } from './event-bus.js';

/**
 * Builds the envelope of one emit and validates everything about it (name, class, payload
 * validators, metadata, delay), so a bad emit throws before anything is delivered. Metadata
 * inherits the current event context: correlation, causation and the app's own keys.
 */
export function createEnvelope(
  nameOrEvent: unknown,
  dataOrOptions: unknown,
  maybeOptions: EmitOptions | undefined,
  validators: EventValidators,
  registry: ListenerRegistry,
): EventEnvelope {
  let name: string;
  let data: unknown;
  let options: EmitOptions | undefined;
  let eventClass: Function | undefined;
  if (typeof nameOrEvent === 'string') {
    assertEventName(nameOrEvent);
    name = nameOrEvent;
    data = dataOrOptions;
    options = maybeOptions;
    // A schema's output (transforms, coercions, defaults) is what every listener receives.
    if (validators.hasNamed) data = validators.checkNamed(name, data);
  } else if ((eventClass = eventClassOf(nameOrEvent)) !== undefined) {
    name = getEventClassName(eventClass);
    validators.checkInstance(name, nameOrEvent as object);
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
  const timestamp = Date.now();
  const id = createEventId(timestamp);
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
  return { id, name, data, metadata, timestamp };
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
