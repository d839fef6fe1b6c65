import type { AttemptAbort } from './attempt-abort.js';
import type { ReservedJob } from './queue-job.js';

/** One attempt that is running in this process. */
export interface Running {
  readonly job: ReservedJob;
  readonly controller: AttemptAbort;
  /** Set once the attempt returned its promise (a sync attempt is over before that). */
  done: Promise<void> | undefined;
  /** When the attempt started (`Date.now()`). */
  readonly startedAt: number;
  /** Whether it was reported as running long (once per attempt). */
  isReportedLong: boolean;
  /** @internal Its index in `RunningAttempts` (-1 once removed). */
  slot: number;
}

/**
 * The running attempts of this process: an array whose entries know their index, so that an add
 * and a delete (once per job each) cost no hashing and no allocation. A `Map` of a few entries,
 * keyed by a string made per job, grows and shrinks its table again and again at that rate.
 * Each delivery (queue and receipt, never the job id) is its own entry: the same job id can be
 * held twice (its entry reclaimed by this very process, or two copies of an inbound fan-out).
 */
export class RunningAttempts {
  private readonly entries: (Running | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(running: Running): void {
    running.slot = this.count;
    this.entries[this.count++] = running;
  }

  /** Removes `running` (nothing if it is not here); the last entry takes its place. */
  delete(running: Running): void {
    const slot = running.slot;
    if (slot < 0 || this.entries[slot] !== running) return;
    const last = this.entries[--this.count]!;
    this.entries[slot] = last;
    last.slot = slot;
    // Cleared rather than popped: the array keeps its capacity, the entry is not kept alive.
    this.entries[this.count] = undefined;
    running.slot = -1;
  }

  /** A copy: callers may abort attempts (which may remove them) while they go through it. */
  values(): Running[] {
    return this.entries.slice(0, this.count) as Running[];
  }

  /** The running deliveries of `job` (its queue and receipt). */
  of(job: ReservedJob): Running[] {
    return this.values().filter((r) => r.job.queue === job.queue && r.job.receipt === job.receipt);
  }
}
