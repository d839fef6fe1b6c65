import type { DeadJob, JobFailure, NewJob, QueueCounts, ReservedJob } from './queue-job.js';
import type { LiveJobState, StoredQueuedJob } from './queued-job.js';
import type { QueueMinute } from './queue-history.js';
import type { PayloadMatch, RemovedJobs } from './flow/job-removal.js';
import type { ScheduleStore } from '../scheduling/schedule-store.interface.js';
import type { QueueGroup } from './flow/queue-group.js';

/** What `QueueTransport.watch` reports: a job entering a queue, or its dead letters. */
export type WatchedEntry =
  | { readonly type: 'job'; readonly job: StoredQueuedJob }
  | { readonly type: 'dead'; readonly job: DeadJob };

/** How a worker reads a queue. */
export interface ReserveOptions {
  /**
   * A listener of the queue has a group (`@ShouldQueue({ group })`): take jobs in fair order
   * across groups, honouring group slots and rate limits.
   */
  readonly isGrouped?: boolean;
}

/** A running `QueueTransport.watch`. */
export interface QueueWatch {
  /** Settles once the watch has stopped (its signal fired); rejects when it failed. */
  readonly done: Promise<void>;
}

/**
 * Storage of queued jobs, in queue language. The worker owns policy (tries, backoff, timeouts,
 * concurrency); a transport owns where jobs live and who holds them. Payloads cross serialized.
 */
export interface QueueTransport {
  /** A name for logs: `memory`, `redis`. */
  readonly kind: string;
  /** Whether jobs survive a process restart. */
  readonly isDurable: boolean;
  /** Where `bus.schedule` keeps schedules (a transport without one keeps them in memory). */
  readonly schedules?: ScheduleStore;

  /**
   * Stores the jobs of one emit (or of one `emitMany`), all or none: across queues where the
   * storage allows it, at least within each queue. Resolves once they are stored.
   */
  enqueue(jobs: readonly NewJob[]): Promise<void>;

  /**
   * Takes up to `max` ready jobs of `queue` for this worker, in stored order. Waits while there is
   * none; resolves with `[]` once `signal` fires.
   */
  reserve(
    queue: string,
    max: number,
    signal: AbortSignal,
    options?: ReserveOptions,
  ): Promise<ReservedJob[]>;

  /** The attempt succeeded: the job is done. @throws StaleJobError if the job was reclaimed. */
  ack(job: ReservedJob): Promise<void>;

  /** The attempt failed: run the job again after `delayMs`. @throws StaleJobError */
  retry(job: ReservedJob, delayMs: number, failure: JobFailure): Promise<void>;

  /** Puts the job back after `delayMs` without counting this attempt. @throws StaleJobError */
  release(job: ReservedJob, delayMs: number): Promise<void>;

  /** Moves the job to its queue's dead letters. @throws StaleJobError */
  deadLetter(job: ReservedJob, failure: JobFailure): Promise<void>;

  /**
   * Tells the transport these jobs are still being worked on (keeps them from being reclaimed).
   * Resolves with the jobs this worker no longer holds (reclaimed by another worker, or gone):
   * their handlers should be aborted.
   */
  heartbeat(jobs: readonly ReservedJob[]): Promise<readonly ReservedJob[]>;

  /**
   * Calls `listener` each time the worker's link to the transport is back after a drop, so that
   * the worker heartbeats what it holds at once, before other workers' reclaims may judge those
   * jobs abandoned. Transports that cannot drop have none. Returns the unsubscribe.
   */
  onReconnect?(listener: () => void): () => void;

  /** Counts by state. */
  counts(queue: string): Promise<QueueCounts>;
  /** How long (ms) the oldest job waiting to start has been ready; undefined when none waits. */
  oldestWaitingAge(queue: string): Promise<number | undefined>;
  /**
   * Attempts completed and failed per minute over the last `minutes` (at most 1440), oldest
   * first, counted by every worker of the queue; kept by the transport in bounded memory.
   */
  history(queue: string, minutes: number): Promise<QueueMinute[]>;
  /** Queues that hold or held jobs. */
  queues(): Promise<string[]>;
  /**
   * A page of dead jobs, oldest first: skipping `offset`, after the dead job `after` when given;
   * only those whose event carried `tag` when given (`after` is then a job with that tag).
   */
  listDead(
    queue: string,
    offset: number,
    limit: number,
    after?: string,
    tag?: string,
  ): Promise<DeadJob[]>;
  /** Moves dead jobs back to the queue for a new round of attempts; returns how many. */
  retryDead(queue: string, id: string | 'all'): Promise<number>;
  /** Deletes every dead job of the queue; returns how many. */
  purgeDead(queue: string): Promise<number>;
  /** Deletes one dead job; whether there was one. */
  forgetDead(queue: string, id: string): Promise<boolean>;
  /** Deletes the dead jobs that died more than `olderThanMs` ago; returns how many. */
  pruneDead(queue: string, olderThanMs: number): Promise<number>;
  /**
   * Removes every job and key of the queue; returns how many jobs (waiting, delayed, dead) went.
   * @throws QueueInUseError unless `force`, while a worker is reading the queue.
   */
  obliterate(queue: string, force: boolean): Promise<number>;
  /** A page of the queue's jobs in one state, in the order they would run (delayed: by due time). */
  listJobs(
    queue: string,
    state: LiveJobState,
    offset: number,
    limit: number,
  ): Promise<StoredQueuedJob[]>;
  /** One job by id, live or dead; undefined when the queue holds no such job. */
  getJob(queue: string, id: string): Promise<StoredQueuedJob | DeadJob | undefined>;
  /** A page of the queue's groups (with jobs, slots held, or paused), by id. */
  groups(queue: string, offset: number, limit: number): Promise<QueueGroup[]>;
  /** Workers of every process stop starting jobs of one group (running ones finish). */
  pauseGroup(queue: string, group: string): Promise<void>;
  resumeGroup(queue: string, group: string): Promise<void>;
  /**
   * Removes the waiting and delayed jobs of `listener` whose serialized payload `matches` (a scan
   * of the queue), and returns the ids of its matching running jobs (`cancelOn`).
   */
  removeMatching(queue: string, listener: string, matches: PayloadMatch): Promise<RemovedJobs>;
  /** Workers of every process stop taking jobs of the queue (running ones finish). */
  pause(queue: string): Promise<void>;
  /** Workers take jobs of the queue again. */
  resume(queue: string): Promise<void>;
  isPaused(queue: string): Promise<boolean>;
  /**
   * Reports, from now until `signal` fires, each job that enters the queue (stored ready, due
   * after a delay, or back for a retry) and each job that enters its dead letters. Resolves once
   * watching has started: what is stored after that is reported. `readIntervalMs`: see
   * `WatchOptions.readIntervalMs` (a transport that reads nothing, the embedded one, ignores it).
   */
  watch(
    queue: string,
    signal: AbortSignal,
    onEntry: (entry: WatchedEntry) => void,
    options?: { readonly readIntervalMs?: number },
  ): Promise<QueueWatch>;

  /**
   * A transport whose jobs die with the process (not durable): runs down what is ready before the
   * worker stops reading, for up to `timeoutMs` (jobs that running ones add included). Resolves
   * to whether everything ready was done. Durable transports leave jobs for other workers.
   */
  drain?(timeoutMs: number): Promise<boolean>;

  /** Releases timers and connections. Idempotent. */
  close(): Promise<void>;
}
