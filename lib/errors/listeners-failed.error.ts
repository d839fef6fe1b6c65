import { EventsError } from './events.error.js';

/** One in-process listener that threw or rejected. */
export interface ListenerFailure {
  /** The listener id (`Class.method`, or the explicit id). */
  readonly listener: string;
  readonly error: unknown;
}

/** `emitAsync` or `until`: at least one in-process listener failed; every failure is listed. */
export class ListenersFailedError extends EventsError {
  constructor(
    readonly eventName: string,
    readonly failures: readonly ListenerFailure[],
    /** The results of every listener, in call order (`undefined` where it failed). */
    readonly results: readonly unknown[],
  ) {
    super(
      'EVENTS_LISTENERS_FAILED',
      `${failures.length} listener(s) of "${eventName}" failed: ` +
        failures
          .map(
            (f) => `${f.listener}: ${f.error instanceof Error ? f.error.message : String(f.error)}`,
          )
          .join('; '),
      { cause: failures[0]?.error },
    );
  }
}
