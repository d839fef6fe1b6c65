import { describeValue, EventsError } from './events.error.js';

/** A stream id the event store refuses: not a string, empty, too long or with control characters. */
export class InvalidStreamIdError extends EventsError {
  constructor(
    readonly received: unknown,
    reason: string,
  ) {
    super(
      'EVENTS_INVALID_STREAM_ID',
      `Invalid stream id ${describeValue(received)}: ${reason}. ` +
        `Expected a non-empty string of at most 500 characters without control characters, such as "order-42".`,
    );
  }
}
