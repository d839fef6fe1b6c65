import type { EventEnvelope } from '../event/event-envelope.js';
import { withParsedPayload, type DeadJob } from './dead-job.js';

/** The live states `EventQueues.listJobs` lists. */
export type LiveJobState = 'waiting' | 'delayed' | 'active';

/** A live job as a transport stores it (payload serialized). */
export interface StoredQueuedJob {
  readonly id: string;
  readonly queue: string;
  readonly listener: string;
  readonly state: LiveJobState;
  readonly payload: string;
  /** Attempts that ended before now (an active job runs attempt `attemptsMade + 1`). */
  readonly attemptsMade: number;
  /** When the job was first stored, or moved back from the dead letters (ms since the epoch). */
  readonly enqueuedAt: number;
  /** Delayed: when it may run (ms since the epoch). */
  readonly runAt?: number;
  /** Active: the worker holding it (on Redis, its consumer name: `host:pid:random`). */
  readonly heldBy?: string;
  /** Active: how long the current attempt has been running (ms; see the README for precision). */
  readonly ageMs?: number;
}

/** A waiting, delayed or active job, as `EventQueues.listJobs` and `getJob` return it. */
export interface QueuedJob extends Omit<StoredQueuedJob, 'payload'> {
  /** The event, parsed as its listener will receive it; `undefined` when it does not parse. */
  readonly payload: EventEnvelope | undefined;
  /** The payload as stored. */
  readonly rawPayload: string;
  /** The tags its event's `tags()` gave when it was emitted (empty when none). */
  readonly tags: readonly string[];
}

/** What `EventQueues.getJob` finds: a live job, or a dead one (`state: 'dead'`). */
export type FoundJob = QueuedJob | (DeadJob & { readonly state: 'dead' });

/** Parses a stored live job's payload; never throws. */
export function parseQueuedJob(
  stored: StoredQueuedJob,
  eventClass: (name: string) => Function | undefined,
): QueuedJob {
  return withParsedPayload(stored, eventClass);
}
