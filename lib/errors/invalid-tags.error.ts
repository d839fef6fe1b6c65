import { EventsError } from './events.error.js';

/**
 * A class event whose `tags()` threw or returned something that cannot be stored as tags
 * (`received`: what it returned).
 */
export class InvalidTagsError extends EventsError {
  constructor(
    readonly eventName: string,
    readonly received: unknown,
    reason: string,
  ) {
    super(
      'EVENTS_INVALID_TAGS',
      `Invalid tags of event "${eventName}": ${reason}. ` +
        'Expected an array of at most 16 distinct non-empty strings of at most 64 characters, ' +
        'without control characters or surrounding spaces.',
    );
  }
}
