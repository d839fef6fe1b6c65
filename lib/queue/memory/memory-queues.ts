import type { EventsClock } from '../clock.js';
import { QueueInUseError } from '../../errors/queue-in-use.error.js';
import { StaleJobError } from '../../errors/transport.error.js';
import type { ReservedJob } from '../queue-job.js';
import { emptyInPlace, newMemoryQueue } from './memory-queue-admin.js';
import type { MemoryQueue, StoredJob } from './memory-queue.types.js';
import { addWaiting } from './memory-priority.js';
import type { MemoryWatchers } from './memory-watchers.js';

/**
 * The queues of the embedded transport by name (each made on first use), which of them are
 * paused, and how a job becomes ready in one: the state the transport's operations share.
 */
export class MemoryQueues {
  readonly byName = new Map<string, MemoryQueue>();
  private readonly paused = new Set<string>();

  constructor(
    private readonly clock: EventsClock,
    private readonly watchers: MemoryWatchers,
  ) {}

  /** The queue named `name`, made empty on first use. */
  queue(name: string): MemoryQueue {
    let q = this.byName.get(name);
    if (!q) this.byName.set(name, (q = newMemoryQueue(() => this.clock.now())));
    return q;
  }

  /** The queue named `name` if it was used. */
  get(name: string): MemoryQueue | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<MemoryQueue> {
    return this.byName.values();
  }

  /** The queues' names, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** The job's queue, if the job's receipt still holds. @throws StaleJobError otherwise */
  owned(job: ReservedJob): MemoryQueue {
    const q = this.queue(job.queue);
    const stored = q.active.get(job.id);
    if (!stored || String(stored.receipt) !== job.receipt) throw new StaleJobError(job.id);
    return q;
  }

  /** Puts a job where a worker takes it (its group, or by priority), and wakes one reader. */
  ready(job: StoredJob): void {
    const q = this.queue(job.queue);
    job.readyAt = Date.now();
    if (job.group) q.groups.add(job);
    else addWaiting(q, job);
    const [wake] = q.waiters;
    wake?.();
    this.watchers.jobReady(job);
  }

  isPaused(name: string): boolean {
    return this.paused.has(name);
  }

  pause(name: string): void {
    this.queue(name);
    this.paused.add(name);
  }

  resume(name: string): void {
    this.paused.delete(name);
    for (const wake of [...this.queue(name).waiters]) wake();
  }

  /** Refused while a worker of this process waits on the queue or runs one of its jobs. */
  obliterate(name: string, force: boolean): number {
    const q = this.byName.get(name);
    if (!q) return 0;
    if (!force && (q.waiters.size > 0 || q.active.size > 0)) {
      throw new QueueInUseError(name, 'a worker of this process');
    }
    const jobs = q.waiting.length + q.groups.waiting + q.delayed.length + q.dead.length;
    this.paused.delete(name);
    if (q.waiters.size === 0) {
      q.groups.stop();
      this.byName.delete(name);
      return jobs;
    }
    // A worker waits on this queue object: empty it in place so that it keeps working.
    emptyInPlace(q);
    return jobs;
  }
}
