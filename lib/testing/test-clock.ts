import type { ClockTimer, EventsClock } from '../queue/clock.js';

interface PendingTimer {
  readonly dueAt: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Lets the work a fired timer started (a promoted job, its worker, its writes) move on. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told: install it with
 * `.overrideProvider(EVENTS_CLOCK).useValue(clock)` and the embedded transport's delays, retry
 * backoffs, saga deadlines and `waitFor` timeouts wait for `advance` instead of real time.
 *
 * @example
 * const clock = new TestClock();
 * const app = await Test.createTestingModule({ imports: [EventsModule.forRoot()], providers })
 *   .overrideProvider(EVENTS_CLOCK).useValue(clock).compile();
 * await clock.advance(7 * 24 * 3600_000); // a week passes; what fell due has run
 */
export class TestClock implements EventsClock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, PendingTimer>();

  constructor(start: number = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const seq = ++this.seq;
    this.timers.set(seq, { dueAt: this.current + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(timer: ClockTimer): void {
    this.timers.delete(timer as number);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in due order, each
   * at its own time. After each one, `settle` (by default a turn of the event loop) lets the work
   * it started finish before the next timer is considered, so timers that work sets within the
   * window fire too.
   */
  async advance(ms: number, settle: () => Promise<void> = yieldToEventLoop): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      let next: PendingTimer | undefined;
      for (const timer of this.timers.values()) {
        if (timer.dueAt > target) continue;
        if (
          !next ||
          timer.dueAt < next.dueAt ||
          (timer.dueAt === next.dueAt && timer.seq < next.seq)
        ) {
          next = timer;
        }
      }
      if (next === undefined) break;
      this.timers.delete(next.seq);
      this.current = Math.max(this.current, next.dueAt);
      next.fn();
      await settle();
    }
    this.current = target;
  }
}
