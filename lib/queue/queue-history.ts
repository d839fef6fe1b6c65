/** Minutes of history a transport keeps per queue (24 hours). */
export const HISTORY_MINUTES = 1440;

/** One minute of a queue's history. */
export interface QueueMinute {
  /** The minute's start (ms since the epoch). */
  readonly at: number;
  /** Attempts that succeeded in that minute. */
  readonly completed: number;
  /** Attempts that failed in that minute (retried or dead-lettered). */
  readonly failed: number;
}

/**
 * The last 24 hours of one queue, per minute, in fixed memory: a ring of `HISTORY_MINUTES` slots,
 * each tagged with its minute, so that a slot left from an earlier day reads as empty. The
 * embedded transport keeps one per queue; the Redis transport keeps the same ring in a hash.
 */
export class MinuteRing {
  private readonly minutes = new Float64Array(HISTORY_MINUTES).fill(-1);
  private readonly completed = new Float64Array(HISTORY_MINUTES);
  private readonly failed = new Float64Array(HISTORY_MINUTES);

  add(nowMs: number, completed: number, failed: number): void {
    const minute = Math.floor(nowMs / 60_000);
    const i = minute % HISTORY_MINUTES;
    if (this.minutes[i] !== minute) {
      this.minutes[i] = minute;
      this.completed[i] = 0;
      this.failed[i] = 0;
    }
    this.completed[i] += completed;
    this.failed[i] += failed;
  }

  /** The last `count` minutes, this one included, oldest first (minutes without work: zeros). */
  read(nowMs: number, count: number): QueueMinute[] {
    return lastMinutes(nowMs, count, (minute) => {
      const i = minute % HISTORY_MINUTES;
      return this.minutes[i] === minute ? [this.completed[i], this.failed[i]] : [0, 0];
    });
  }
}

/** The last `count` minutes up to `nowMs`, oldest first, each read with `at(minute)`. */
export function lastMinutes(
  nowMs: number,
  count: number,
  at: (minute: number) => readonly [number, number],
): QueueMinute[] {
  const current = Math.floor(nowMs / 60_000);
  const out: QueueMinute[] = [];
  for (let minute = current - count + 1; minute <= current; minute++) {
    const [completed, failed] = at(minute);
    out.push({ at: minute * 60_000, completed, failed });
  }
  return out;
}
