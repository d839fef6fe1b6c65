import type { EventEnvelope } from '../../event/event-envelope.js';
import type { ListenerContext, ListenerFn } from '../../discovery/listener-definition.js';

/**
 * @internal Where a worker puts the events of a debounce window (`collect: true`) in the
 * listener's context. Middleware sees the job's own event (the window's last); the method gets
 * the array.
 */
export const COLLECTED_EVENTS = Symbol('nestjs-events.collected');

type CollectingContext = ListenerContext & {
  readonly [COLLECTED_EVENTS]?: readonly EventEnvelope[];
};

/** The method call of a `collect` listener: called with the window's events when it has them. */
export function collectingCall(call: ListenerFn): ListenerFn {
  return (event, context) =>
    call(
      ((context as CollectingContext)[COLLECTED_EVENTS] as EventEnvelope | undefined) ?? event,
      context,
    );
}
