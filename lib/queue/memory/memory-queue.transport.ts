import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { systemClock, type EventsClock } from '../clock.js';
import { MemoryDelays } from './memory-delays.js';
import { MemoryDrain } from './memory-drain.js';
import { addWaiting } from './memory-priority.js';
import { QueueInUseError } from '../../errors/queue-in-use.error.js';
import { StaleJobError, TransportError } from '../../errors/transport.error.js';
import { tagsOfPayload } from '../../event/event-tags.js';
import type { DeadJob, JobFailure, NewJob, QueueCounts, ReservedJob } from '../queue-job.js';
import type { QueueTransport, QueueWatch, WatchedEntry } from '../queue-transport.interface.js';
import {
  countFailed,
  countsOf,
  deadJobOf,
  droppedJobs,
  takeReady,
  emptyInPlace,
  findJob,
  forgetDead,
  listJobs,
  newMemoryQueue,
  oldestWaitingAge,
  pageDead,
  pruneDead,
  revived,
  takeDead,
} from './memory-queue-admin.js';
import type { MemoryQueue, StoredJob } from './memory-queue.types.js';
import { MemoryWatchers } from './memory-watchers.js';
import { removeMatching } from './memory-job-removal.js';
import type { PayloadMatch, RemovedJobs } from '../flow/job-removal.js';
import type { LiveJobState, StoredQueuedJob } from '../queued-job.js';
import type { QueueMinute } from '../queue-history.js';
import { MemoryScheduleStore } from '../../scheduling/memory-schedule.store.js';
import type { QueueGroup } from '../flow/queue-group.js';

/** Options of the embedded transport. */
export interface MemoryQueueTransportOptions {
  /**
   * How long shutdown waits for the ready jobs (waiting, or running) of the queues a worker reads
   * here to be done before the jobs left are dropped (`worker.shutdownTimeout` in the module).
   * @default 10000
   */
  readonly drainTimeoutMs?: number;
  /** The time of delays and retries (a `TestClock` in tests). @default the system clock */
  readonly clock?: EventsClock;
  /**
   * How long (ms) a deduplicated job id (an emit with an explicit `id`) is remembered: the same
   * job is not stored again within it (`dedupeWindowMs` in the module).
   * @default 3600000
   */
  readonly dedupeWindowMs?: number;
}

/**
 * The embedded transport: the same queue semantics as Redis (retries, delays, dead letters,
 * ordering), kept in this process's memory. Not durable: a restart loses every job. At shutdown
 * it lets the worker finish the ready jobs first (see `drain`), and logs how many it dropped.
 */
export class MemoryQueueTransport implements QueueTransport, OnModuleDestroy {
  readonly kind = 'memory';
  readonly isDurable = false;
  readonly schedules = new MemoryScheduleStore();
  private readonly logger = new Logger(MemoryQueueTransport.name);
  private readonly byName = new Map<string, MemoryQueue>();
  private readonly drainTimeoutMs: number;
  private readonly dedupeWindowMs: number;
  /** Deduplicated job ids stored, with when they may be stored again (ms), oldest first. */
  private readonly seen = new Map<string, number>();
  private readonly drainer = new MemoryDrain();
  private readonly clock: EventsClock;
  private readonly delays: MemoryDelays;
  private receipts = 0;
  private isClosed = false;
  private readonly paused = new Set<string>();
  private readonly watchers = new MemoryWatchers();

  constructor(options: MemoryQueueTransportOptions = {}) {
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 3_600_000;
    this.clock = options.clock ?? systemClock;
    this.delays = new MemoryDelays(
      this.clock,
      () => this.byName.values(),
      (job) => this.ready(job),
    );
  }

  /**
   * Nest calls this before any `beforeApplicationShutdown` hook, so the worker still runs: the
   * jobs of emits that resolved are run before the worker stops, rather than lost with the process.
   */
  async onModuleDestroy(): Promise<void> {
    await this.drain(this.drainTimeoutMs);
  }

  /**
   * Waits until the queues that a worker of this process reads have no job waiting or running
   * (jobs that running ones add included), or `timeoutMs` passed. Delayed jobs and scheduled
   * retries are not waited for. Resolves to whether everything ready was done.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    return this.drainer.until(() => this.byName.values(), timeoutMs);
  }

  async enqueue(jobs: readonly NewJob[]): Promise<void> {
    if (this.isClosed) {
      // Stored now, the jobs would vanish with the process: the caller must hear of it.
      throw new TransportError(
        `Embedded transport: cannot store ${jobs.length} job(s) of "${jobs[0]?.queue}": the app is shut down`,
      );
    }
    const now = this.clock.now();
    // Insertion order is expiry order (one window for all): drop the expired from the front.
    for (const [id, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(id);
    }
    for (const job of jobs) {
      if (job.isDeduplicated) {
        // Same as Redis's SET NX PX: a job id stored within the window is not stored again.
        const key = `${job.queue}\u0000${job.id}`;
        if (this.seen.has(key)) continue;
        this.seen.set(key, now + this.dedupeWindowMs);
      }
      const stored: StoredJob = { ...job, enqueuedAt: now, attempts: 0, receipt: 0 };
      if (job.delayMs > 0) this.delays.add(this.queue(job.queue), stored, now + job.delayMs);
      else this.ready(stored);
    }
  }

  reserve(queue: string, max: number, signal: AbortSignal): Promise<ReservedJob[]> {
    const q = this.queue(queue);
    q.isConsumed = true;
    const take = (): ReservedJob[] => takeReady(q, max, () => ++this.receipts);
    const isPaused = (): boolean => this.paused.has(queue);
    const isReady = q.waiting.length > 0 || q.groups.hasReady();
    if ((isReady && !isPaused()) || signal.aborted || this.isClosed)
      return Promise.resolve(signal.aborted || isPaused() ? [] : take());
    return new Promise((resolve) => {
      const wake = (): void => {
        if (isPaused() && !signal.aborted && !this.isClosed) return; // Stays asleep.
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
    q.groups.settle(q.active.get(job.id), false);
    q.active.delete(job.id);
    q.completed++;
    q.history.add(Date.now(), 1, 0);
    this.drainer.settled();
  }

  async retry(job: ReservedJob, delayMs: number, _failure: JobFailure): Promise<void> {
    const q = this.owned(job);
    const stored = q.active.get(job.id)!;
    q.groups.settle(stored, true);
    q.active.delete(job.id);
    countFailed(q);
    if (delayMs > 0) this.delays.add(q, stored, this.clock.now() + delayMs);
    else this.ready(stored);
    this.drainer.settled();
  }

  async release(job: ReservedJob, delayMs: number): Promise<void> {
    const q = this.owned(job);
    const stored = q.active.get(job.id)!;
    q.groups.settle(q.active.get(job.id), false);
    // Never started: back to the head of its group, where it was taken from.
    stored.toHead = true;
    q.active.delete(job.id);
    stored.attempts--;
    if (delayMs > 0) this.delays.add(q, stored, this.clock.now() + delayMs);
    else this.ready(stored);
    this.drainer.settled();
  }

  async deadLetter(job: ReservedJob, failure: JobFailure): Promise<void> {
    const q = this.owned(job);
    const stored = q.active.get(job.id);
    q.groups.settle(stored, false);
    q.active.delete(job.id);
    if (failure.reason !== 'malformed' && failure.reason !== 'unknown-listener') countFailed(q);
    const dead = deadJobOf(job, stored, failure, Date.now());
    q.dead.push(dead);
    this.watchers.notify(job.queue, { type: 'dead', job: dead });
    this.drainer.settled();
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
    return countsOf(this.queue(queue));
  }

  async groups(queue: string, offset: number, limit: number): Promise<QueueGroup[]> {
    return this.queue(queue).groups.list(offset, limit);
  }

  async pauseGroup(queue: string, group: string): Promise<void> {
    this.queue(queue).groups.pause(group);
  }

  async resumeGroup(queue: string, group: string): Promise<void> {
    this.queue(queue).groups.resume(group);
  }

  async queues(): Promise<string[]> {
    return [...this.byName.keys()].sort();
  }

  async oldestWaitingAge(queue: string): Promise<number | undefined> {
    const q = this.byName.get(queue);
    return q && oldestWaitingAge(q, Date.now());
  }

  async history(queue: string, minutes: number): Promise<QueueMinute[]> {
    return this.queue(queue).history.read(Date.now(), minutes);
  }

  async listDead(
    queue: string,
    offset: number,
    limit: number,
    after?: string,
    tag?: string,
  ): Promise<DeadJob[]> {
    const dead = this.queue(queue).dead;
    // O(dead jobs) with a tag: the embedded transport holds few, and each untagged one costs a
    // prefix test.
    const chosen =
      tag === undefined ? dead : dead.filter((d) => tagsOfPayload(d.payload).includes(tag));
    return pageDead(chosen, offset, limit, after);
  }

  async retryDead(queue: string, id: string): Promise<number> {
    const chosen = takeDead(this.queue(queue).dead, id);
    const now = Date.now();
    for (const dead of chosen) this.ready(revived(dead, now));
    return chosen.length;
  }

  async purgeDead(queue: string): Promise<number> {
    return this.queue(queue).dead.splice(0).length;
  }

  async forgetDead(queue: string, id: string): Promise<boolean> {
    return forgetDead(this.queue(queue).dead, id);
  }

  async pruneDead(queue: string, olderThanMs: number): Promise<number> {
    return pruneDead(this.queue(queue).dead, Date.now() - olderThanMs);
  }

  async listJobs(
    queue: string,
    state: LiveJobState,
    offset: number,
    limit: number,
  ): Promise<StoredQueuedJob[]> {
    return listJobs(this.queue(queue), queue, state, offset, limit);
  }

  async getJob(queue: string, id: string): Promise<StoredQueuedJob | DeadJob | undefined> {
    return findJob(this.queue(queue), queue, id);
  }

  /** Takes effect at once: a worker waiting on the queue stays asleep. */
  async removeMatching(
    queue: string,
    listener: string,
    matches: PayloadMatch,
  ): Promise<RemovedJobs> {
    return removeMatching(this.byName.get(queue), listener, matches);
  }

  async pause(queue: string): Promise<void> {
    this.queue(queue);
    this.paused.add(queue);
  }

  async resume(queue: string): Promise<void> {
    this.paused.delete(queue);
    for (const wake of [...this.queue(queue).waiters]) wake();
  }

  async isPaused(queue: string): Promise<boolean> {
    return this.paused.has(queue);
  }

  /** Refused while a worker of this process waits on the queue or runs one of its jobs. */
  async obliterate(queue: string, force: boolean): Promise<number> {
    const q = this.byName.get(queue);
    if (!q) return 0;
    if (!force && (q.waiters.size > 0 || q.active.size > 0)) {
      throw new QueueInUseError(queue, 'a worker of this process');
    }
    const jobs = q.waiting.length + q.groups.waiting + q.delayed.length + q.dead.length;
    this.paused.delete(queue);
    if (q.waiters.size === 0) {
      q.groups.stop();
      this.byName.delete(queue);
      return jobs;
    }
    // A worker waits on this queue object: empty it in place so that it keeps working.
    emptyInPlace(q);
    return jobs;
  }

  /** Stops timers and wakes readers; logs (WARN) the jobs that die with it, by queue. */
  async watch(
    queue: string,
    signal: AbortSignal,
    onEntry: (entry: WatchedEntry) => void,
  ): Promise<QueueWatch> {
    return this.watchers.add(queue, signal, onEntry);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.delays.stop();
    for (const q of this.byName.values()) for (const wake of [...q.waiters]) wake();
    this.drainer.settled();
    const dropped = droppedJobs(this.byName);
    if (dropped !== undefined) this.logger.warn(dropped);
  }

  private queue(name: string): MemoryQueue {
    let q = this.byName.get(name);
    if (!q) this.byName.set(name, (q = newMemoryQueue(() => this.clock.now())));
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
    job.readyAt = Date.now();
    if (job.group) q.groups.add(job);
    else addWaiting(q, job);
    const [wake] = q.waiters;
    wake?.();
    this.watchers.jobReady(job);
  }
}
