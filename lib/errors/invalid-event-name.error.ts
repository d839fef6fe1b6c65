import { describeValue, EventsError } from './events.error.js';

/** An event name (or event class) that cannot be emitted: empty, malformed, or a wildcard pattern. */
export class InvalidEventNameError extends EventsError {
  constructor(
    readonly received: unknown,
    reason: string,
  ) {
    super(
      'EVENTS_INVALID_EVENT_NAME',
      `Invalid event name ${describeValue(received)}: ${reason}. ` +
        `Expected dot-separated segments such as "order.created" (no empty segment, no "*").`,
    );
  }
}
