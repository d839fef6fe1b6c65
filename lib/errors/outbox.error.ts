import { EventsError } from './events.error.js';

/** The outbox's PostgreSQL work failed (unreachable, the table missing, a write refused). */
export class OutboxError extends EventsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENTS_OUTBOX_FAILED', message, options);
  }
}
