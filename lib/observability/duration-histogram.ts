/**
 * Upper bounds (ms) of the fixed buckets every duration goes into; a last bucket takes the rest.
 * Fixed, so recording costs a short scan and no allocation, and so Prometheus can reuse them.
 */
export const DURATION_BUCKETS_MS: readonly number[] = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000,
  60_000, 300_000,
];

/** A duration summary as `EventMetrics.snapshot()` reports it (ms). */
export interface DurationSummary {
  readonly count: number;
  readonly sumMs: number;
  readonly avgMs: number;
  /** Estimated from the buckets (linear within a bucket), like Prometheus's `histogram_quantile`. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Durations in fixed buckets: count, sum, max, and percentiles estimated from the buckets. */
export class DurationHistogram {
  /** Per bucket (same index as `DURATION_BUCKETS_MS`, plus one past the last bound). */
  readonly counts = new Float64Array(DURATION_BUCKETS_MS.length + 1);
  count = 0;
  sumMs = 0;
  maxMs = 0;

  record(ms: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS_MS.length && ms > DURATION_BUCKETS_MS[i]) i++;
    this.counts[i]++;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The duration under which a share `q` (0..1) of the recorded ones fall, estimated. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const inBucket = this.counts[i];
      if (inBucket === 0 || seen + inBucket < rank) {
        seen += inBucket;
        continue;
      }
      const lower = i === 0 ? 0 : DURATION_BUCKETS_MS[i - 1];
      // Past the last bound nothing is known but the largest value seen.
      const upper = i < DURATION_BUCKETS_MS.length ? DURATION_BUCKETS_MS[i] : this.maxMs;
      const estimate = lower + ((upper - lower) * (rank - seen)) / inBucket;
      return Math.min(estimate, this.maxMs);
    }
    return this.maxMs;
  }

  summary(): DurationSummary {
    return {
      count: this.count,
      sumMs: round(this.sumMs),
      avgMs: this.count === 0 ? 0 : round(this.sumMs / this.count),
      p50Ms: round(this.quantile(0.5)),
      p95Ms: round(this.quantile(0.95)),
      p99Ms: round(this.quantile(0.99)),
      maxMs: round(this.maxMs),
    };
  }
}

/** Three decimals: sub-microsecond digits of a timer are noise. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
