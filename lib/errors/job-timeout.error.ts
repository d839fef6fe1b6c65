import { EventsError } from './events.error.js';

/** A queued listener's attempt ran past its `timeout`; it counts as a failed attempt. */
export class JobTimeoutError extends EventsError {
  constructor(
    readonly listener: string,
    readonly timeoutMs: number,
  ) {
    super('EVENTS_JOB_TIMEOUT', `Listener ${listener} timed out after ${timeoutMs} ms.`);
  }
}
