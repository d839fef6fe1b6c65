import type { ClockTimer, EventsClock } from '../clock.js';
import type { MemoryQueue, StoredJob } from './memory-queue.types.js';

/**
 * The delayed jobs of the embedded transport: one timer (on the transport's clock) for the
 * earliest due job of every queue, which moves the due ones back to their queues.
 */
export class MemoryDelays {
  private timer: ClockTimer | undefined;
  private timerDueAt = Infinity;
  private isStopped = false;

  /**
   * @param queues the queues to promote in (read at each promotion).
   * @param onDue makes a due job ready again.
   */
  constructor(
    private readonly clock: EventsClock,
    private readonly queues: () => Iterable<MemoryQueue>,
    private readonly onDue: (job: StoredJob) => void,
  ) {}

  /** Keeps `job` in `q` until `dueAt` (ms on the clock). */
  add(q: MemoryQueue, job: StoredJob, dueAt: number): void {
    const delayed = q.delayed;
    let i = delayed.length;
    // Sorted by due time, then insertion: equal due times keep their order.
    while (i > 0 && delayed[i - 1].dueAt > dueAt) i--;
    delayed.splice(i, 0, { dueAt, job });
    this.schedule(dueAt);
  }

  /** Stops the timer for good (the transport closed). */
  stop(): void {
    this.isStopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(dueAt: number): void {
    if (this.isStopped || dueAt >= this.timerDueAt) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerDueAt = dueAt;
    this.timer = this.clock.setTimeout(
      () => this.promoteDue(),
      Math.max(0, dueAt - this.clock.now()),
    );
  }

  /** Moves due delayed jobs to their queues, then waits for the next one. */
  private promoteDue(): void {
    this.timer = undefined;
    this.timerDueAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const q of this.queues()) {
      while (q.delayed.length > 0 && q.delayed[0].dueAt <= now) this.onDue(q.delayed.shift()!.job);
      if (q.delayed.length > 0) next = Math.min(next, q.delayed[0].dueAt);
    }
    if (next !== Infinity) this.schedule(next);
  }
}
