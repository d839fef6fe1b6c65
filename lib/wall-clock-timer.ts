/**
 * Runs `fn` once, no earlier than `dueAt` by `Date.now()`. Node's timers count from the event
 * loop's cached time, taken when the loop turn began, so by the wall clock a plain `setTimeout`
 * may fire a millisecond or more early; this one arms itself again for what is left.
 */
export class WallClockTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dueAt: number,
    private readonly fn: () => void,
  ) {
    this.arm();
  }

  /** It will not run (a no-op once it has). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      if (Date.now() < this.dueAt) return this.arm();
      this.timer = undefined;
      this.fn();
    }, this.dueAt - Date.now());
  }
}
