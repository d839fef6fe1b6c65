import { describeValue, EventsError } from './events.error.js';

/** A module, decorator or call option with a value outside what is allowed. */
export class InvalidOptionError extends EventsError {
  constructor(
    readonly option: string,
    readonly received: unknown,
    expected: string,
  ) {
    super(
      'EVENTS_INVALID_OPTION',
      `Invalid option "${option}": expected ${expected}, received ${describeValue(received)}.`,
    );
  }
}
