import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { systemClock, type EventsClock } from '../clock.js';
import type { MemoryQueueTransportOptions } from './memory-queue.options.js';
import { MemoryDelays } from './memory-delays.js';
import { MemoryDrain } from './memory-drain.js';
import { TransportError } from '../../errors/transport.error.js';
import { tagsOfPayload } from '../../event/event-tags.js';
import type { DeadJob, JobFailure, NewJob, QueueCounts, ReservedJob } from '../queue-job.js';
import type { QueueTransport, QueueWatch, WatchedEntry } from '../queue-transport.interface.js';
import {
  countFailed,
  countsOf,
  deadJobOf,
  droppedJobs,
  takeReady,
  findJob,
  forgetDead,
  listJobs,
  oldestWaitingAge,
  pageDead,
  pruneDead,
  revived,
  takeDead,
} from './memory-queue-admin.js';
import type { StoredJob } from './memory-queue.types.js';
import { MemoryWatchers } from './memory-watchers.js';
import { MemoryQueues } from './memory-queues.js';
import { MemoryDedupe } from './memory-dedupe.js';
import { removeMatching } from './memory-job-removal.js';
import type { PayloadMatch, RemovedJobs } from '../flow/job-removal.js';
import type { LiveJobState, StoredQueuedJob } from '../queued-job.js';
import type { QueueMinute } from '../queue-history.js';
import { MemoryScheduleStore } from '../../scheduling/memory-schedule.store.js';
import type { QueueGroup } from '../flow/queue-group.js';

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
  private readonly registry: MemoryQueues;
  private readonly drainTimeoutMs: number;
  private readonly dedupe: MemoryDedupe;
  private readonly drainer = new MemoryDrain();
  private readonly clock: EventsClock;
  private readonly delays: MemoryDelays;
  private receipts = 0;
  private isClosed = false;
  private readonly watchers = new MemoryWatchers();

  constructor(options: MemoryQueueTransportOptions = {}) {
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.dedupe = new MemoryDedupe(options.dedupeWindowMs ?? 3_600_000);
    this.clock = options.clock ?? systemClock;
    this.registry = new MemoryQueues(this.clock, this.watchers);
    this.delays = new MemoryDelays(
      this.clock,
      () => this.registry.all(),
      (job) => this.registry.ready(job),
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
    return this.drainer.until(() => this.registry.all(), timeoutMs);
  }

  async enqueue(jobs: readonly NewJob[]): Promise<void> {
    if (this.isClosed) {
      // Stored now, the jobs would vanish with the process: the caller must hear of it.
      throw new TransportError(
        `Embedded transport: cannot store ${jobs.length} job(s) of "${jobs[0]?.queue}": the app is shut down`,
      );
    }
    const now = this.clock.now();
    this.dedupe.expire(now);
    for (const job of jobs) {
      // A job id stored within the window is not stored again.
      if (job.isDeduplicated && !this.dedupe.isNew(job.queue, job.id, now)) continue;
      const stored: StoredJob = { ...job, enqueuedAt: now, attempts: 0, receipt: 0 };
      if (job.delayMs <= 0) this.registry.ready(stored);
      else this.delays.add(this.registry.queue(job.queue), stored, now + job.delayMs);
    }
  }

  reserve(queue: string, max: number, signal: AbortSignal): Promise<ReservedJob[]> {
    const q = this.registry.queue(queue);
    q.isConsumed = true;
    const take = (): ReservedJob[] => takeReady(q, max, () => ++this.receipts);
    const isPaused = (): boolean => this.registry.isPaused(queue);
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
    const q = this.registry.owned(job);
    q.groups.settle(q.active.get(job.id), false);
    q.active.delete(job.id);
    q.completed++;
    q.history.add(Date.now(), 1, 0);
    this.drainer.settled();
  }

  async retry(job: ReservedJob, delayMs: number, _failure: JobFailure): Promise<void> {
    const q = this.registry.owned(job);
    const stored = q.active.get(job.id)!;
    q.groups.settle(stored, true);
    q.active.delete(job.id);
    countFailed(q);
    if (delayMs > 0) this.delays.add(q, stored, this.clock.now() + delayMs);
    else this.registry.ready(stored);
    this.drainer.settled();
  }

  async release(job: ReservedJob, delayMs: number): Promise<void> {
    const q = this.registry.owned(job);
    const stored = q.active.get(job.id)!;
    q.groups.settle(q.active.get(job.id), false);
    // Never started: back to the head of its group, where it was taken from.
    stored.toHead = true;
    q.active.delete(job.id);
    stored.attempts--;
    if (delayMs > 0) this.delays.add(q, stored, this.clock.now() + delayMs);
    else this.registry.ready(stored);
    this.drainer.settled();
  }

  async deadLetter(job: ReservedJob, failure: JobFailure): Promise<void> {
    const q = this.registry.owned(job);
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
      const stored = this.registry.get(job.queue)?.active.get(job.id);
      return !stored || String(stored.receipt) !== job.receipt;
    });
  }

  async counts(queue: string): Promise<QueueCounts> {
    return countsOf(this.registry.queue(queue));
  }

  async groups(queue: string, offset: number, limit: number): Promise<QueueGroup[]> {
    return this.registry.queue(queue).groups.list(offset, limit);
  }

  async pauseGroup(queue: string, group: string): Promise<void> {
    this.registry.queue(queue).groups.pause(group);
  }

  async resumeGroup(queue: string, group: string): Promise<void> {
    this.registry.queue(queue).groups.resume(group);
  }

  async queues(): Promise<string[]> {
    return this.registry.names();
  }

  async oldestWaitingAge(queue: string): Promise<number | undefined> {
    const q = this.registry.get(queue);
    return q && oldestWaitingAge(q, Date.now());
  }

  async history(queue: string, minutes: number): Promise<QueueMinute[]> {
    return this.registry.queue(queue).history.read(Date.now(), minutes);
  }

  async listDead(
    queue: string,
    offset: number,
    limit: number,
    after?: string,
    tag?: string,
  ): Promise<DeadJob[]> {
    const dead = this.registry.queue(queue).dead;
    // O(dead jobs) with a tag: the embedded transport holds few, and each untagged one costs a
    // prefix test.
    const chosen =
      tag === undefined ? dead : dead.filter((d) => tagsOfPayload(d.payload).includes(tag));
    return pageDead(chosen, offset, limit, after);
  }

  async retryDead(queue: string, id: string): Promise<number> {
    const chosen = takeDead(this.registry.queue(queue).dead, id);
    const now = Date.now();
    for (const dead of chosen) this.registry.ready(revived(dead, now));
    return chosen.length;
  }

  async purgeDead(queue: string): Promise<number> {
    return this.registry.queue(queue).dead.splice(0).length;
  }

  async forgetDead(queue: string, id: string): Promise<boolean> {
    return forgetDead(this.registry.queue(queue).dead, id);
  }

  async pruneDead(queue: string, olderThanMs: number): Promise<number> {
    return pruneDead(this.registry.queue(queue).dead, Date.now() - olderThanMs);
  }

  async listJobs(
    queue: string,
    state: LiveJobState,
    offset: number,
    limit: number,
  ): Promise<StoredQueuedJob[]> {
    return listJobs(this.registry.queue(queue), queue, state, offset, limit);
  }

  async getJob(queue: string, id: string): Promise<StoredQueuedJob | DeadJob | undefined> {
    return findJob(this.registry.queue(queue), queue, id);
  }

  /** Takes effect at once: a worker waiting on the queue stays asleep. */
  async removeMatching(
    queue: string,
    listener: string,
    matches: PayloadMatch,
  ): Promise<RemovedJobs> {
    return removeMatching(this.registry.get(queue), listener, matches);
  }

  async pause(queue: string): Promise<void> {
    this.registry.pause(queue);
  }

  async resume(queue: string): Promise<void> {
    this.registry.resume(queue);
  }

  async isPaused(queue: string): Promise<boolean> {
    return this.registry.isPaused(queue);
  }

  /** Refused while a worker of this process waits on the queue or runs one of its jobs. */
  async obliterate(queue: string, force: boolean): Promise<number> {
    return this.registry.obliterate(queue, force);
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
    for (const q of this.registry.all()) for (const wake of [...q.waiters]) wake();
    this.drainer.settled();
    const dropped = droppedJobs(this.registry.byName);
    if (dropped !== undefined) this.logger.warn(dropped);
  }
}
