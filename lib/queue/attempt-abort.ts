import { JobTimeoutError } from '../errors/job-timeout.error.js';

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

  /**
   * One promise per attempt: settled by the listener (what `start` returns), or rejected by a
   * timeout (`timeoutMs` > 0, naming `listenerId`) or an abort (shutdown, lost ownership).
   */
  outcome(timeoutMs: number, listenerId: string, start: () => unknown): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle =
        (outcome: (value: unknown) => void) =>
        (value: unknown): void => {
          if (timer) clearTimeout(timer);
          this.onAbort = undefined;
          outcome(value);
        };
      if (this.isAborted) return reject(this.reason);
      this.onAbort = settle(reject);
      if (timeoutMs > 0) {
        timer = setTimeout(() => this.abort(new JobTimeoutError(listenerId, timeoutMs)), timeoutMs);
      }
      try {
        Promise.resolve(start()).then(settle(resolve), settle(reject));
      } catch (error) {
        settle(reject)(error);
      }
    });
  }
}
