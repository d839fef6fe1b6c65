import { EventsError } from './events.error.js';

/** A listener provider whose scope or shape this library cannot call. */
export class UnsupportedListenerError extends EventsError {
  constructor(
    readonly provider: string,
    reason: string,
  ) {
    super(
      'EVENTS_UNSUPPORTED_LISTENER',
      `Cannot register the listeners of ${provider}: ${reason}.`,
    );
  }
}
