import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import type { QueueProducer } from '../queue/queue.producer.js';

/**
 * The queue `EventsClient.emit` writes to (one per prefix, its own hash slot on a cluster): a
 * producer may not have the listener classes, so it stores the event once, and an `EventsServer`
 * (which has them) fans it out. Reserved: do not name a queue of your own like this.
 */
export const INBOUND_QUEUE = 'events.inbound';

/** The listener id of inbound entries. */
export const INBOUND_LISTENER = 'EventsServer.inbound';

/**
 * The queued listener that fans an inbound event out: one job per queued listener and
 * `@EventPattern` handler of its name, stored in one batch. The worker acknowledges the inbound
 * entry only once that batch is stored, so a server that dies in between leaves it pending, and
 * another server fans it out again (jobs ids are `<eventId>:<listenerId>` either way).
 * An event nobody here listens to is dead-lettered (list and retry it once a listener exists).
 */
export function inboundListener(
  registry: ListenerRegistry,
  producer: QueueProducer,
): ListenerDefinition {
  return {
    id: INBOUND_LISTENER,
    patterns: [],
    priority: 0,
    info: {
      id: INBOUND_LISTENER,
      className: 'EventsServer',
      methodName: 'inbound',
      isQueued: true,
    },
    invoke: async (event) => {
      const { queued } = registry.resolve(event.name);
      if (queued.length === 0) {
        throw new UnrecoverableError(
          `No queued listener or @EventPattern handler for "${event.name}" in this EventsServer's app`,
        );
      }
      await producer.enqueue(event, queued, 0);
    },
    queue: {
      queue: INBOUND_QUEUE,
      // Fan-out fails only when Redis does: retry for a while before giving up.
      tries: 10,
      backoff: { type: 'exponential', delay: 100, maxDelay: 10_000, jitter: 0.5 },
      delay: 0,
      timeout: 0,
    },
    eventClasses: [],
  };
}
