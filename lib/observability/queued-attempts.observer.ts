import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { AttemptObserver, BatchAttempt } from '../queue/attempt-outcome.js';
import type { ReservedJob } from '../queue/queue-job.js';
import { queuedOutcome } from './attempt-classifier.js';
import { LastEventCounts, type MetricsStore, type Timed } from './metrics-store.js';

/**
 * What the attempts of one queued listener on one queue are counted into, found once (and again
 * after `EventMetrics.reset()`) instead of four map lookups by string per attempt.
 */
interface QueuedTally {
  generation: number;
  readonly queue: string;
  listener: Timed;
  queueTotals: Timed;
  readonly events: LastEventCounts;
}

/**
 * Times each queued attempt and counts how it ended (see `queuedOutcome`) into `store`. A sync
 * attempt costs no closure and no record object; one that returns a promise, one reaction.
 */
export class QueuedAttemptsObserver implements AttemptObserver {
  /** By listener, then queue (a listener's jobs all go to one queue, save renamed ones). */
  private readonly tallies = new WeakMap<ListenerDefinition, QueuedTally>();

  constructor(private readonly store: MetricsStore) {}

  observe(
    job: ReservedJob,
    event: EventEnvelope,
    listener: ListenerDefinition,
    run: () => Promise<unknown> | undefined,
  ): Promise<unknown> | undefined {
    const startedAt = performance.now();
    let running: Promise<unknown> | undefined;
    try {
      running = run();
    } catch (error) {
      this.record(job, event, listener, performance.now() - startedAt, true, error);
      throw error;
    }
    if (running === undefined) {
      this.record(job, event, listener, performance.now() - startedAt, false, undefined);
      return undefined;
    }
    running.then(
      () => this.record(job, event, listener, performance.now() - startedAt, false, undefined),
      (error: unknown) =>
        this.record(job, event, listener, performance.now() - startedAt, true, error),
    );
    return running;
  }

  observeBatch(listener: ListenerDefinition, jobs: readonly BatchAttempt[], durationMs: number) {
    // Every job counted once, by its own outcome; the one call's duration recorded once.
    let callMs: number | undefined = durationMs;
    for (const { job, event, failure } of jobs) {
      const isFailed = failure !== undefined;
      if (this.record(job, event, listener, callMs, isFailed, failure?.error)) callMs = undefined;
    }
  }

  /** Records one attempt; false when it has no outcome of its own (see `queuedOutcome`). */
  private record(
    job: ReservedJob,
    event: EventEnvelope,
    listener: ListenerDefinition,
    durationMs: number | undefined,
    isFailed: boolean,
    error: unknown,
  ): boolean {
    const outcome = queuedOutcome(job, listener, isFailed, error);
    if (outcome === undefined) return false;
    const now = Date.now();
    const tally = this.tally(listener, job.queue);
    const startedAt = now - (durationMs ?? 0);
    // First attempts only: a retry's wait is its backoff, not the queue's lag.
    const waitMs = job.attempt === 1 ? Math.max(0, startedAt - job.enqueuedAt) : undefined;
    this.store.count(tally.events.of(event.name), outcome.outcome, outcome.isTimedOut);
    tally.listener.addAttempt(outcome.outcome, outcome.isTimedOut, durationMs, waitMs, now);
    tally.queueTotals.addAttempt(outcome.outcome, outcome.isTimedOut, durationMs, waitMs, now);
    return true;
  }

  private tally(listener: ListenerDefinition, queue: string): QueuedTally {
    const store = this.store;
    let tally = this.tallies.get(listener);
    if (tally === undefined || tally.queue !== queue || tally.generation !== store.generation) {
      tally = {
        generation: store.generation,
        queue,
        listener: store.listener(listener.id, queue),
        queueTotals: store.queue(queue),
        events: new LastEventCounts(store),
      };
      this.tallies.set(listener, tally);
    }
    return tally;
  }
}
