/** A schedule as its store keeps it. */
export interface StoredSchedule {
  readonly id: string;
  /** The schedule's record (JSON, see `ScheduleRecord`). */
  readonly record: string;
  /** The due time (ms) of its next occurrence, or of the one an app is emitting now. */
  readonly due: number;
}

/** An occurrence an app took: it emits it, then commits. */
export interface ClaimedOccurrence extends StoredSchedule {
  /** Taken before by an app that did not commit within its lease (it may have emitted it). */
  readonly isReclaim: boolean;
}

/** The answer of one claim. */
export interface ClaimBatch {
  /** The store's clock (ms) when it claimed. */
  readonly now: number;
  readonly claimed: readonly ClaimedOccurrence[];
  /** The earliest due time (ms) left (a lease's end included), undefined when none. */
  readonly nextDue: number | undefined;
}

/**
 * Where schedules live: in the transport (Redis for a durable app), never only in a timer. The
 * store's clock (Redis's, on Redis) decides when an occurrence is due, so no app emits one early,
 * and a claim hands each due occurrence to one app at a time (for `leaseMs`).
 */
export interface ScheduleStore {
  /** The store's clock (ms). */
  now(): Promise<number>;
  /** The record of one schedule, undefined when there is none. */
  get(id: string): Promise<string | undefined>;
  /** Stores or replaces a schedule, due first at `due`; forgets an occurrence in flight. */
  upsert(id: string, record: string, due: number): Promise<void>;
  /** Deletes a schedule (a pending `at` included); whether there was one. */
  remove(id: string): Promise<boolean>;
  list(): Promise<StoredSchedule[]>;
  /**
   * Takes up to `limit` due occurrences for this app. Each one is held for `leaseMs`: when the app
   * does not commit it in time, another app claims it again (`isReclaim`).
   */
  claim(limit: number, leaseMs: number): Promise<ClaimBatch>;
  /**
   * The claimed occurrence `due` was emitted: the schedule is next due at `next` (undefined: it
   * is done and deleted). False when the claim was lost (the lease ran out and another app took
   * it, or the schedule was replaced or deleted meanwhile): nothing changes.
   */
  commit(id: string, due: number, next: number | undefined): Promise<boolean>;
}
