import type { NewJob } from '../queue/queue-job.js';
import type { SagaRecord, SagaStatus } from './saga-definition.js';

/** Which sagas `list` returns. */
export interface SagaFilter {
  readonly name?: string;
  readonly status?: SagaStatus;
  readonly offset: number;
  readonly limit: number;
}

/**
 * Where saga records live. Every write is checked: `create` stores a record only when its id is
 * new, `update` only when the stored version is the one the caller read.
 */
export interface SagaStore {
  /** `memory`, `redis`, `postgres`: for logs. */
  readonly kind: string;
  /** Stores a new saga; false (nothing written) when the id exists. */
  create(record: SagaRecord): Promise<boolean>;
  get(id: string): Promise<SagaRecord | undefined>;
  /**
   * For each id, whether that saga is stored and active (not finished, or its ending event not
   * out yet: see `idle`): a cheap check for many sagas at once (no record is read).
   */
  areActive(ids: readonly string[]): Promise<boolean[]>;
  /** Replaces the saga if its stored version is `expectedVersion`; whether it did. */
  update(record: SagaRecord, expectedVersion: number): Promise<boolean>;
  /**
   * `update`, and storing the saga's next job on the transport in the same atomic write (job
   * deduplicated by id). Only a store that shares the transport's storage has it (Redis,
   * standalone); without it, the record is written first, then the job.
   */
  readonly updateWithJob?: (
    record: SagaRecord,
    expectedVersion: number,
    job: NewJob,
  ) => Promise<boolean>;
  /**
   * `create`, and storing the saga's first job in the same atomic write (the same stores as
   * `updateWithJob`); false, nothing written, when the id exists.
   */
  readonly createWithJob?: (record: SagaRecord, job: NewJob) => Promise<boolean>;
  /** Sagas by creation time, oldest first. */
  list(filter: SagaFilter): Promise<SagaRecord[]>;
  /**
   * Sagas whose last write is older than `before` (ms since the epoch) and that are not
   * finished, or finished with their ending event (`saga.<name>.completed`, ...) not yet out:
   * a saga stays active, for the sweeper, from its final write until `ended`.
   */
  idle(before: number, limit: number): Promise<SagaRecord[]>;
  /** The ending event of finished saga `id` is out: it is no longer active. */
  ended(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Whether a record passes a filter's name and status. */
export function matchesFilter(record: SagaRecord, filter: SagaFilter): boolean {
  return (
    (filter.name === undefined || record.name === filter.name) &&
    (filter.status === undefined || record.status === filter.status)
  );
}
