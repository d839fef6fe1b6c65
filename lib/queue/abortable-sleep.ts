/**
 * Waits `ms`, or less if `signal` fires first. The abort listener is removed when the wait ends
 * either way, so that loops which back off for a long outage never pile listeners up on one
 * long-lived signal.
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Capped exponential backoff with jitter (ms) for the `failures`-th failure in a row. */
export function retryDelay(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures, 16)) * (1 + Math.random() / 2);
}
