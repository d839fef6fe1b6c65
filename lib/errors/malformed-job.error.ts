import { EventsError } from './events.error.js';

/**
 * A stored job that cannot be read back into an event (bad JSON, or not an envelope). A worker
 * dead-letters such a job with this message and goes on.
 */
export class MalformedJobError extends EventsError {
  constructor(reason: string) {
    super('EVENTS_MALFORMED_JOB', `A stored job cannot be read: ${reason}.`);
  }
}
