import { StaleJobError } from '../../errors/transport.error.js';
import type { DeadJob, JobFailure, NewJob, QueueCounts, ReservedJob } from '../queue-job.js';
import type { QueueTransport } from '../queue-transport.interface.js';

interface StoredJob {
  readonly id: string;
  readonly queue: string;
  readonly listener: string;
  readonly payload: string;
  readonly enqueuedAt: number;
  /** Attempts started so far. */
  attempts: number;
  receipt: number;
}

interface MemoryQueue {
  readonly waiting: StoredJob[];
  /** Sorted by due time, then insertion. */
  readonly delayed: { dueAt: number; job: StoredJob }[];
  readonly active: Map<string, StoredJob>;
  readonly dead: DeadJob[];
  completed: number;
  failed: number;
  readonly waiters: Set<() => void>;
}

/**
 * The embedded transport: the same queue semantics as Redis (retries, delays, dead letters,
 * ordering), kept in this process's memory. Not durable: a restart loses every job.
 */
export class MemoryQueueTransport implements QueueTransport {
  readonly kind = 'memory';
  readonly isDurable = false;
  private readonly byName = new Map<string, MemoryQueue>();
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Infinity;
  private receipts = 0;
  private isClosed = false;

  async enqueue(jobs: readonly NewJob[]): Promise<void> {
    const now = Date.now();
    for (const job of jobs) {
      const stored: StoredJob = { ...job, enqueuedAt: now, attempts: 0, receipt: 0 };
      if (job.delayMs > 0) this.delay(stored, now + job.delayMs);
      else this.ready(stored);
    }
  }

  reserve(queue: string, max: number, signal: AbortSignal): Promise<ReservedJob[]> {
    const q = this.queue(queue);
    const take = (): ReservedJob[] =>
      q.waiting.splice(0, max).map((job) => {
        job.attempts++;
        job.receipt = ++this.receipts;
        q.active.set(job.id, job);
        return {
          id: job.id,
          queue: job.queue,
          listener: job.listener,
          payload: job.payload,
          attempt: job.attempts,
          enqueuedAt: job.enqueuedAt,
          receipt: String(job.receipt),
        };
      });
    if (q.waiting.length > 0 || signal.aborted || this.isClosed)
      return Promise.resolve(signal.aborted ? [] : take());
    return new Promise((resolve) => {
      const wake = (): void => {
        q.waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve(signal.aborted || this.isClosed ? [] : take());
      };
      q.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  async ack(job: ReservedJob): Promise<void> {
    const q = this.owned(job);
    q.active.delete(job.id);
    q.completed++;
  }

  async retry(job: ReservedJob, delayMs: number, _failure: JobFailure): Promise<void> {
    const q = this.owned(job);
    const stored = q.active.get(job.id)!;
    q.active.delete(job.id);
    q.failed++;
    if (delayMs > 0) this.delay(stored, Date.now() + delayMs);
    else this.ready(stored);
  }

  async release(job: ReservedJob, delayMs: number): Promise<void> {
    const q = this.owned(job);
    const stored = q.active.get(job.id)!;
    q.active.delete(job.id);
    stored.attempts--;
    if (delayMs > 0) this.delay(stored, Date.now() + delayMs);
    else this.ready(stored);
  }

  async deadLetter(job: ReservedJob, failure: JobFailure): Promise<void> {
    const q = this.owned(job);
    q.active.delete(job.id);
    if (failure.reason !== 'malformed' && failure.reason !== 'unknown-listener') q.failed++;
    q.dead.push({
      id: job.id,
      queue: job.queue,
      listener: job.listener,
      payload: job.payload,
      attempts: job.attempt,
      reason: failure.reason,
      error: failure.message,
      stack: failure.stack,
      enqueuedAt: job.enqueuedAt,
      failedAt: Date.now(),
    });
  }

  async heartbeat(jobs: readonly ReservedJob[]): Promise<readonly ReservedJob[]> {
    // Jobs of this process cannot outlive their worker here: nothing to extend, but a delivery
    // whose receipt no longer holds (settled by another copy, or gone) is reported lost.
    return jobs.filter((job) => {
      const stored = this.byName.get(job.queue)?.active.get(job.id);
      return !stored || String(stored.receipt) !== job.receipt;
    });
  }

  async counts(queue: string): Promise<QueueCounts> {
    const q = this.queue(queue);
    return {
      waiting: q.waiting.length,
      delayed: q.delayed.length,
      active: q.active.size,
      completed: q.completed,
      failed: q.failed,
      dead: q.dead.length,
    };
  }

  async queues(): Promise<string[]> {
    return [...this.byName.keys()].sort();
  }

  async listDead(queue: string, offset: number, limit: number): Promise<DeadJob[]> {
    return this.queue(queue).dead.slice(offset, offset + limit);
  }

  async retryDead(queue: string, id: string): Promise<number> {
    const q = this.queue(queue);
    const chosen =
      id === 'all'
        ? q.dead.splice(0)
        : q.dead.splice(
            Math.max(
              0,
              q.dead.findIndex((d) => d.id === id),
            ),
            q.dead.some((d) => d.id === id) ? 1 : 0,
          );
    const now = Date.now();
    for (const dead of chosen) {
      this.ready({
        id: dead.id,
        queue: dead.queue,
        listener: dead.listener,
        payload: dead.payload,
        enqueuedAt: now,
        attempts: 0,
        receipt: 0,
      });
    }
    return chosen.length;
  }

  async purgeDead(queue: string): Promise<number> {
    return this.queue(queue).dead.splice(0).length;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const q of this.byName.values()) for (const wake of [...q.waiters]) wake();
  }

  private queue(name: string): MemoryQueue {
    let q = this.byName.get(name);
    if (!q) {
      q = {
        waiting: [],
        delayed: [],
        active: new Map(),
        dead: [],
        completed: 0,
        failed: 0,
        waiters: new Set(),
      };
      this.byName.set(name, q);
    }
    return q;
  }

  private owned(job: ReservedJob): MemoryQueue {
    const q = this.queue(job.queue);
    const stored = q.active.get(job.id);
    if (!stored || String(stored.receipt) !== job.receipt) throw new StaleJobError(job.id);
    return q;
  }

  private ready(job: StoredJob): void {
    const q = this.queue(job.queue);
    q.waiting.push(job);
    const [wake] = q.waiters;
    wake?.();
  }

  private delay(job: StoredJob, dueAt: number): void {
    const delayed = this.queue(job.queue).delayed;
    let i = delayed.length;
    while (i > 0 && delayed[i - 1].dueAt > dueAt) i--;
    delayed.splice(i, 0, { dueAt, job });
    this.schedule(dueAt);
  }

  private schedule(dueAt: number): void {
    if (this.isClosed || dueAt >= this.timerDueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => this.promoteDue(), Math.max(0, dueAt - Date.now()));
  }

  /** Moves due delayed jobs to their queues, then waits for the next one. */
  private promoteDue(): void {
    this.timer = undefined;
    this.timerDueAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const q of this.byName.values()) {
      while (q.delayed.length > 0 && q.delayed[0].dueAt <= now) this.ready(q.delayed.shift()!.job);
      if (q.delayed.length > 0) next = Math.min(next, q.delayed[0].dueAt);
    }
    if (next !== Infinity) this.schedule(next);
  }
}
