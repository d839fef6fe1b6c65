import type { EventsClock } from '../clock.js';

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
