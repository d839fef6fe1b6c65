/**
 * Aborts one attempt (timeout, shutdown, lost ownership). The AbortController behind
 * `context.signal` is only made when a listener or middleware reads the signal: most never do.
 */
export class AttemptAbort {
  isAborted = false;
  reason: unknown = undefined;
  /** Rejects the running attempt; set while it runs. */
  onAbort: ((reason: unknown) => void) | undefined;
  private controller: AbortController | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.isAborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.onAbort?.(reason);
  }
}
