/** What `QueueTransport.removeMatching` did. */
export interface RemovedJobs {
  /** Waiting and delayed jobs removed. */
  readonly removed: number;
  /** Ids of matching jobs that are running (or were taken by a worker during the scan). */
  readonly running: readonly string[];
}

/** Whether a job's serialized payload is one to remove. */
export type PayloadMatch = (payload: string) => boolean;
