/** One group of a queue, as `EventQueues.groups` lists it. */
export interface QueueGroup {
  readonly id: string;
  /** Jobs waiting to start (delayed jobs and scheduled retries not included). */
  readonly waiting: number;
  /** Slots held: jobs running, and with `groupConcurrency` jobs waiting for a retry. */
  readonly active: number;
  readonly paused: boolean;
  /** While over its `groupRateLimit`: when it may start a job again (ms since the epoch). */
  readonly limitedUntil?: number;
}
