import type { DeadJob } from '../queue-job.js';
import type { MinuteRing } from '../queue-history.js';
import type { GroupedJob, MemoryGroups } from '../flow/memory-groups.js';

/** A job held by the embedded transport. */
export interface StoredJob extends GroupedJob {
  readonly id: string;
  readonly queue: string;
  readonly listener: string;
  readonly payload: string;
  readonly enqueuedAt: number;
  /** Attempts started so far. */
  attempts: number;
  receipt: number;
  /** When the current attempt was handed to a worker (ms). */
  reservedAt?: number;
  /** When it last became ready to run (ms). */
  readyAt?: number;
  /** From -10 to 10, higher first; absent is 0. */
  readonly priority?: number;
  readonly priorityAgingMs?: number;
}

/** One queue of the embedded transport. */
export interface MemoryQueue {
  /** Sorted by priority (higher first), then by when each became ready (see memory-priority). */
  readonly waiting: StoredJob[];
  /** Waiting jobs with `priorityAgingMs`: while any waits, the order changes with time. */
  agingWaiting: number;
  /** Sorted by due time, then insertion. */
  readonly delayed: { dueAt: number; job: StoredJob }[];
  readonly active: Map<string, StoredJob>;
  readonly dead: DeadJob[];
  completed: number;
  failed: number;
  /** Completed and failed attempts per minute, the last 24 hours. */
  readonly history: MinuteRing;
  readonly waiters: Set<() => void>;
  /** Ready jobs of groups (`@ShouldQueue({ group })`), apart from `waiting`. */
  readonly groups: MemoryGroups<StoredJob>;
  /** Whether a worker of this process reads this queue: only then can close drain it. */
  isConsumed: boolean;
}
