import type { ClockTimer, EventsClock } from '../clock.js';
import type { MemoryQueue, StoredJob } from './memory-queue.types.js';

/**
 * Delayed jobs and scheduled retries of the embedded transport: kept sorted per queue, moved to
 * their queue by one timer set for the earliest due time.
 */
export class MemoryDelays {
  private timer: ClockTimer | undefined;
  private timerDueAt = Infinity;
  private isStopped = false;

  constructor(
    private readonly clock: EventsClock,
    private readonly byName: ReadonlyMap<string, MemoryQueue>,
    private readonly ready: (job: StoredJob) => void,
  ) {}

  /** Keeps `job` in `q` until `dueAt` (ms, on the transport's clock). */
  add(q: MemoryQueue, job: StoredJob, dueAt: number): void {
    const delayed = q.delayed;
    let i = delayed.length;
    while (i > 0 && delayed[i - 1].dueAt > dueAt) i--;
    delayed.splice(i, 0, { dueAt, job });
    this.schedule(dueAt);
  }

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
    for (const q of this.byName.values()) {
      while (q.delayed.length > 0 && q.delayed[0].dueAt <= now) this.ready(q.delayed.shift()!.job);
      if (q.delayed.length > 0) next = Math.min(next, q.delayed[0].dueAt);
    }
    if (next !== Infinity) this.schedule(next);
  }
}
