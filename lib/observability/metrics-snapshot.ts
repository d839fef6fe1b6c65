import type { DurationSummary } from './duration-histogram.js';

/** Attempts by how they ended. An attempt counts once in `handled` or `failed`, or in `released`. */
export interface OutcomeCounts {
  /** Attempts that succeeded. */
  readonly handled: number;
  /** Attempts that threw, rejected or timed out (retried or not). */
  readonly failed: number;
  /** Failed attempts that get another one. */
  readonly retried: number;
  /** Attempts that hit their timeout (also counted in `failed`). */
  readonly timedOut: number;
  /** Failed attempts that were the last: the job went to its dead letters. */
  readonly deadLettered: number;
  /** Attempts given back by a middleware (`context.release`): neither handled nor failed. */
  readonly released: number;
}

/** One event name in `EventMetrics.snapshot()`. */
export interface EventNameMetrics extends OutcomeCounts {
  /** Emits of this name delivered by this process. */
  readonly emitted: number;
}

/** One listener (or one queue) in `EventMetrics.snapshot()`. */
export interface ListenerMetrics extends OutcomeCounts {
  /** The queue, for a queued listener. */
  readonly queue?: string;
  /** Jobs not queued because `@ShouldQueue({ when })` returned false (never attempts). */
  readonly skipped: number;
  /** Handler time of each attempt (through its middleware). */
  readonly duration: DurationSummary;
  /** Mean handler time (`duration.avgMs`). */
  readonly avgLatencyMs: number;
  /** Queued: from the emit to the handler's start of each first attempt (a `delay` included). */
  readonly wait?: DurationSummary;
  /** Attempts per second over the last minute. */
  readonly throughputPerSec: number;
}

/** One `@Measure(name)` in `EventMetrics.snapshot()`. */
export interface MeasureMetrics {
  readonly calls: number;
  readonly errors: number;
  readonly duration: DurationSummary;
  readonly avgLatencyMs: number;
  readonly throughputPerSec: number;
}

/**
 * What `EventMetrics.snapshot()` returns: plain objects, counted by this process since it started
 * (or since `reset()`).
 */
export interface MetricsSnapshot {
  /** When counting began (ms since the epoch). */
  readonly since: number;
  readonly takenAt: number;
  /** By event name (names past `metrics.maxEventLabels` are counted under `other`). */
  readonly events: Readonly<Record<string, EventNameMetrics>>;
  /** By listener id (`Class.method`). In-process listeners only with `metrics.inProcess`. */
  readonly listeners: Readonly<Record<string, ListenerMetrics>>;
  /** By queue, every queued listener of the queue together. */
  readonly queues: Readonly<Record<string, ListenerMetrics>>;
  /** By `@Measure(name)`. */
  readonly measures: Readonly<Record<string, MeasureMetrics>>;
}
