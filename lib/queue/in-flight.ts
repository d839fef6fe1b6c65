import type { ReservedJob } from './queue-job.js';
import { RunningAttempts } from './running-attempts.js';

export type { Running } from './running-attempts.js';

/**
 * What this process holds (over all queues): running attempts, settles in flight, and jobs read
 * ahead of a free slot. Heartbeats cover all three, and shutdown waits for the first two.
 */
export class InFlight {
  readonly running = new RunningAttempts();
  /** Settles in flight: a slot frees when its handler settles, not after the ack. */
  readonly settling = new Map<Promise<void>, ReservedJob>();
  /** Jobs reserved ahead of a free slot (every queue). */
  readonly ahead = new Set<ReservedJob>();

  /**
   * This process no longer holds `job` (see `LostOwnershipError`): a running attempt is aborted
   * with `reason`, a job read ahead is dropped before it starts. Returns whether it was held.
   */
  lose(job: ReservedJob, reason: unknown): boolean {
    const running = this.running.of(job);
    if (running.length > 0) {
      for (const r of running) r.controller.abort(reason);
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
    const jobs = this.running.values().map((r) => r.job);
    // Jobs whose ack is in flight too: a slow ack must not let them be reclaimed.
    for (const job of this.settling.values()) jobs.push(job);
    for (const job of this.ahead) jobs.push(job);
    return jobs;
  }
}
