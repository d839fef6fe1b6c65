import { describeValue, EventsError } from './events.error.js';

/**
 * A broadcast channel name outside the strict pattern: ASCII letters, digits and `.-_=`, 1 to 200
 * characters (no wildcard, no space, no look-alike character), or a channel pattern that is not
 * made of such names and `{param}` placeholders.
 */
export class InvalidChannelNameError extends EventsError {
  constructor(
    readonly received: unknown,
    reason: string,
  ) {
    super(
      'EVENTS_INVALID_CHANNEL_NAME',
      `Invalid broadcast channel name ${describeValue(received)}: ${reason}. ` +
        `Expected 1 to 200 ASCII letters, digits or ".-_=" such as "orders.42".`,
    );
  }
}
