/** Seconds the throughput is measured over. */
export const THROUGHPUT_WINDOW_S = 60;

/**
 * Events per second over the last minute: a ring of one-second slots, each tagged with its second
 * so that a slot left from an earlier minute counts as empty. Fixed memory, no timer.
 */
export class ThroughputWindow {
  private readonly slots = new Float64Array(THROUGHPUT_WINDOW_S);
  private readonly seconds = new Float64Array(THROUGHPUT_WINDOW_S).fill(-1);

  constructor(private readonly startedAtMs: number) {}

  add(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const i = second % THROUGHPUT_WINDOW_S;
    // A time a minute or more before the slot's (an old event's): counting it would wipe the slot.
    if (this.seconds[i] > second) return;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.slots[i] = 0;
    }
    this.slots[i]++;
  }

  /**
   * Per second over the last minute, or over the time since counting began when that is shorter
   * (so a fresh process does not report a tenth of its rate).
   */
  perSecond(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    let total = 0;
    for (let i = 0; i < THROUGHPUT_WINDOW_S; i++) {
      if (second - this.seconds[i] < THROUGHPUT_WINDOW_S) total += this.slots[i];
    }
    const spanS = Math.min(THROUGHPUT_WINDOW_S, Math.max(1, (nowMs - this.startedAtMs) / 1000));
    return Math.round((total / spanS) * 1000) / 1000;
  }
}
