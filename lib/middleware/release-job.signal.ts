/**
 * What `context.release(delayMs)` throws: "put this attempt back after `delayMs` without counting
 * it". It is not an `Error` (nothing failed). A middleware that catches errors around `next()`
 * must rethrow it, as the built-in `Logging` does.
 */
export class ReleaseJobSignal {
  constructor(
    /** How long (ms) to wait before the attempt runs again. */
    readonly delayMs: number,
  ) {}
}

/** True when `value` is the signal thrown by `context.release()`. */
export function isReleaseJobSignal(value: unknown): value is ReleaseJobSignal {
  return value instanceof ReleaseJobSignal;
}
