import { EventsError } from './events.error.js';

/**
 * A failed `EventFacade` assertion. The message says what was expected and lists what was
 * dispatched while faking (names with counts, and the data of near matches), so a failing test
 * explains itself.
 */
export class EventAssertionError extends EventsError {
  constructor(message: string) {
    super('EVENTS_ASSERTION_FAILED', message);
  }
}
