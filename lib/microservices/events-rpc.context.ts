import type { EventEnvelope } from '../event/event-envelope.js';
import type { EnvelopeFor, EventNamePattern, UntypedOnly } from '../event/event-map.js';
import type { ListenerContext } from '../discovery/listener-definition.js';
import { BaseRpcContext } from './microservices.peer.js';

/**
 * The context of an `@EventPattern` handler run by `EventsServer` (read it with `@Ctx()`): the
 * whole envelope (id, metadata, timestamp) and the attempt's context (attempt, signal, queue).
 *
 * @example
 * @EventPattern('order.created')
 * handle(@Payload() order: Order, @Ctx() ctx: EventsRpcContext) { ctx.getEvent().id; }
 *
 * // With the event map, name the handler's pattern to type the envelope:
 * ctx.getEvent<'order.created'>().data.total; // a wildcard gives the union, discriminated by name
 */
export class EventsRpcContext extends BaseRpcContext<[EventEnvelope, ListenerContext]> {
  /**
   * The event being handled. Once the event map is declared, the type argument is the handler's
   * pattern (`getEvent<'order.*'>()`): the envelope is that of the mapped events it matches.
   * Without a map, the type argument is the payload type.
   */
  getEvent<T = unknown>(...none: UntypedOnly<[]>): EventEnvelope<T>;
  getEvent<P extends EventNamePattern = '**'>(): EnvelopeFor<P>;
  getEvent(): EventEnvelope {
    return this.args[0];
  }

  /** The attempt number, from 1. */
  getAttempt(): number {
    return this.args[1].attempt;
  }

  /** Fires when the attempt times out or the worker shuts down. */
  getSignal(): AbortSignal {
    return this.args[1].signal;
  }

  /** The queue the handler runs from. */
  getQueue(): string | undefined {
    return this.args[1].queue;
  }
}
