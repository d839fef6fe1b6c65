import { OnEvent } from '../decorators/on-event.decorator.js';
import type { EventBus } from '../bus/event-bus.js';
import type { EventEnvelope } from '../event/event-envelope.js';

// Broadcasts and notifications travel as the library's own events (`nestjs-events.*`), which an
// application's typed `EventMap` does not list: these views of the bus and of `@OnEvent` take
// any name, so the library compiles the same with or without a map.

/** The part of the bus the broadcasting and notification parts use, untyped by the event map. */
export interface InternalEmits {
  emit(name: string, data: unknown): Promise<EventEnvelope>;
  emitMany(items: readonly { name: string; data: unknown }[]): Promise<EventEnvelope[]>;
}

export function internalEmits(bus: EventBus): InternalEmits {
  return bus as unknown as InternalEmits;
}

/** `@OnEvent` for a library-internal event name. */
export const OnInternalEvent = OnEvent as unknown as (
  name: string,
  options?: { id?: string },
) => MethodDecorator;
