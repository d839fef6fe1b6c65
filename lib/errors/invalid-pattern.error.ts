import { describeValue, EventsError } from './events.error.js';

/** A listener pattern that is malformed, or listed twice for one listener. */
export class InvalidPatternError extends EventsError {
  constructor(
    readonly received: unknown,
    reason: string,
    where?: string,
  ) {
    super(
      'EVENTS_INVALID_PATTERN',
      `Invalid event pattern ${describeValue(received)}${where ? ` on ${where}` : ''}: ${reason}. ` +
        `Expected dot-separated segments, each a name, "*" (one segment) or "**" (any number).`,
    );
  }
}
