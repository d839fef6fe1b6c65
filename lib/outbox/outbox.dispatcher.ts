import type { EventEnvelope } from '../event/event-envelope.js';
import type { OutboxBusPort } from '../bus/outbox-port.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import type { JobOptions, QueueProducer } from '../queue/queue.producer.js';
import type { NewJob } from '../queue/queue-job.js';
import { transactionListeners } from './outbox-listeners.js';

/** A committed event to dispatch. */
export interface CommittedEvent {
  readonly envelope: EventEnvelope;
  readonly delayMs: number;
  /** The emit's priority and group (what its row kept), for its queued jobs. */
  readonly jobOptions?: JobOptions;
}

/**
 * Dispatches committed events as an emit would, minus the `afterCommit: false` listeners (they
 * ran in the transaction): every queued job of the batch is stored first, in one transport batch
 * keyed by the event id (a second dispatch of the same event stores nothing twice within
 * `dedupeWindowMs`), then in-process listeners and stream subscribers run. When the transport
 * fails nothing ran, and the rows wait for a relay.
 */
export class OutboxDispatcher {
  constructor(
    private readonly registry: ListenerRegistry,
    private readonly producer: QueueProducer,
    private readonly port: OutboxBusPort,
    /** Records events at dispatch (an event store other than PostgreSQL cannot join the transaction). */
    private readonly record?: (envelope: EventEnvelope) => Promise<void> | undefined,
  ) {}

  /** @throws what the transport throws (nothing ran then). */
  async dispatch(events: readonly CommittedEvent[]): Promise<void> {
    const jobs: NewJob[] = [];
    const runs = events.map(({ envelope, delayMs, jobOptions }) => {
      const { after } = transactionListeners(this.registry.resolve(envelope.name));
      if (after.queued.length > 0) {
        jobs.push(...this.producer.jobsOf(envelope, after.queued, delayMs, true, jobOptions));
      }
      return { envelope, listeners: after, dueAt: delayMs > 0 ? envelope.timestamp + delayMs : 0 };
    });
    if (this.record !== undefined) {
      await Promise.all(events.map(({ envelope }) => this.record?.(envelope)));
    }
    if (jobs.length > 0) await this.producer.store(jobs);
    for (const { envelope, listeners, dueAt } of runs) {
      this.port.runCommitted(envelope, listeners, dueAt);
    }
  }
}
