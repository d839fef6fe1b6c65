import type { JobGroup } from './flow/group-options.js';
import type { SingletonClaim } from './flow/singleton.gate.js';

/** A job to store: one queued listener's share of one emitted event. */
export interface NewJob {
  /** Unique per (event, listener): `<eventId>:<listenerId>`. */
  readonly id: string;
  readonly queue: string;
  readonly listener: string;
  /** The serialized envelope (shared by every job of one emit). */
  readonly payload: string;
  /** Wait in ms before the job may run. */
  readonly delayMs: number;
  /** The emitted event's id, for errors (`EmitOutcomeUnknownError.eventId`). */
  readonly eventId?: string;
  /**
   * The emit passed an explicit `id`: a job with this id stored within `dedupeWindowMs` is not
   * stored again (the emit resolves as if it had been).
   */
  readonly isDeduplicated?: boolean;
  /** Its group, on a queue with groups (fair order, group concurrency and rate limit). */
  readonly group?: JobGroup;
  /** From -10 to 10, higher first (see `@ShouldQueue({ priority })`). @default 0 */
  readonly priority?: number;
  /** Lifts the job one level per this many ms it waits (see `priorityAgingMs`). */
  readonly priorityAgingMs?: number;
  /** @internal The listener's singleton key for this event (flow control at emit; not stored). */
  readonly singleton?: SingletonClaim;
  /** @internal The listener's debounce key for this event (flow control at emit; not stored). */
  readonly debounce?: string;
}

/** A job handed to a worker for one attempt. */
export interface ReservedJob {
  readonly id: string;
  readonly queue: string;
  readonly listener: string;
  readonly payload: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** When the job was first stored (ms since the epoch). */
  readonly enqueuedAt: number;
  /** The transport's handle on this delivery; settling with a stale receipt is refused. */
  readonly receipt: string;
  /** Its group id, on a queue with groups. */
  readonly group?: string;
}

/** Why a job ended in dead letters. */
export interface JobFailure {
  /** `failed` (attempts used up), `unrecoverable`, `malformed`, `unknown-listener`, `timeout`. */
  readonly reason: string;
  readonly message: string;
  /** The first lines of the stack, when there was an error. */
  readonly stack?: string;
}

/** A job in a dead-letter list. */
export interface DeadJob {
  readonly id: string;
  readonly queue: string;
  readonly listener: string;
  readonly payload: string;
  /** Attempts made. */
  readonly attempts: number;
  readonly reason: string;
  readonly error: string;
  readonly stack?: string;
  readonly enqueuedAt: number;
  readonly failedAt: number;
  /** Its priority, when not 0: a retry of the dead job runs at this priority again. */
  readonly priority?: number;
  /** Its `priorityAgingMs`, when it had one (kept for the retry too). */
  readonly priorityAgingMs?: number;
}

/** Jobs of one queue by state. */
export interface QueueCounts {
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
  readonly completed: number;
  /** Failed attempts (retried or not). */
  readonly failed: number;
  readonly dead: number;
}
