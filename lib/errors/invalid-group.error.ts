import { describeValue, EventsError } from './events.error.js';

/**
 * An emit whose group could not be worked out for a grouped listener: its `group` function threw
 * or returned something other than a non-empty string of at most 128 bytes (or its
 * `groupWeight` gave no positive integer). Nothing of the emit was stored.
 */
export class InvalidGroupError extends EventsError {
  constructor(
    readonly listener: string,
    readonly eventName: string,
    readonly received: unknown,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      'EVENTS_INVALID_GROUP',
      `The group of listener "${listener}" for event "${eventName}" is invalid: ${reason}, ` +
        `received ${describeValue(received)}. Nothing of this emit was stored.`,
      options,
    );
  }
}
