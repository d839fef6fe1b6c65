import type { AttemptAbort } from './attempt-abort.js';
import type { ReservedJob } from './queue-job.js';

/**
 * The key of one delivery: its queue and receipt (entry and delivery), never the job id. The
 * same job id can be held twice (its entry reclaimed by this very process, or two copies of an
 * inbound fan-out); each delivery is heartbeated, awaited and settled on its own.
 */
export function receiptKey(job: ReservedJob): string {
  return `${job.queue}\n${job.receipt}`;
}

/** One attempt that is running in this process. */
export interface Running {
  readonly job: ReservedJob;
  readonly controller: AttemptAbort;
  readonly done: Promise<void>;
  /** When the attempt started (`Date.now()`). */
  readonly startedAt: number;
  /** Whether it was reported as running long (once per attempt). */
  isReportedLong: boolean;
}

/**
 * What this process holds (over all queues): running attempts, settles in flight, and jobs read
 * ahead of a free slot. Heartbeats cover all three, and shutdown waits for the first two.
 */
export class InFlight {
  /** By `receiptKey`. */
  readonly running = new Map<string, Running>();
  /** Settles in flight: a slot frees when its handler settles, not after the ack. */
  readonly settling = new Map<Promise<void>, ReservedJob>();
  /** Jobs reserved ahead of a free slot (every queue). */
  readonly ahead = new Set<ReservedJob>();

  /**
   * This process no longer holds `job` (see `LostOwnershipError`): a running attempt is aborted
   * with `reason`, a job read ahead is dropped before it starts. Returns whether it was held.
   */
  lose(job: ReservedJob, reason: unknown): boolean {
    const running = this.running.get(receiptKey(job));
    if (running) {
      running.controller.abort(reason);
      return true;
    }
    for (const held of this.ahead) {
      if (held.queue === job.queue && held.receipt === job.receipt) {
        this.ahead.delete(held);
        return true;
      }
    }
    return false;
  }

  /** Every job to keep alive with a heartbeat. */
  held(): ReservedJob[] {
    const jobs = [...this.running.values()].map((r) => r.job);
    // Jobs whose ack is in flight too: a slow ack must not let them be reclaimed.
    for (const job of this.settling.values()) jobs.push(job);
    for (const job of this.ahead) jobs.push(job);
    return jobs;
  }
}
