import { EventsError } from './events.error.js';

/**
 * Throw it from a queued listener to fail the job for good: no further attempt is made, the job
 * goes to dead letters and the failure hook runs.
 */
export class UnrecoverableError extends EventsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENTS_UNRECOVERABLE', message, options);
  }
}
