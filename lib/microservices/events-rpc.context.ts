import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerContext } from '../discovery/listener-definition.js';
import { BaseRpcContext } from './microservices.peer.js';

/**
 * The context of an `@EventPattern` handler run by `EventsServer` (read it with `@Ctx()`): the
 * whole envelope (id, metadata, timestamp) and the attempt's context (attempt, signal, queue).
 *
 * @example
 * @EventPattern('order.created')
 * handle(@Payload() order: Order, @Ctx() ctx: EventsRpcContext) { ctx.getEvent().id; }
 */
export class EventsRpcContext extends BaseRpcContext<[EventEnvelope, ListenerContext]> {
  /** The event being handled. */
  getEvent<T = unknown>(): EventEnvelope<T> {
    return this.args[0] as EventEnvelope<T>;
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
