/** A timer handle of an `EventsClock`. */
export type ClockTimer = unknown;

/**
 * Time as the embedded transport and sagas read it: delayed jobs, retry backoff, saga deadlines
 * and `waitFor` timeouts. The system clock in production; `TestClock` (from the testing API)
 * makes days pass in a test in milliseconds.
 */
export interface EventsClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

/** The real clock. */
export const systemClock: EventsClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** DI token of the clock (override it with a `TestClock` in tests). */
export const EVENTS_CLOCK = Symbol('EVENTS_CLOCK');
