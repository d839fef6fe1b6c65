import { EventsError } from './events.error.js';

/** The event store's backend failed (PostgreSQL unreachable, the `pg` package missing, ...). */
export class EventStoreError extends EventsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENTS_STORE_FAILED', message, options);
  }
}
