import { describeValue, EventsError } from './events.error.js';

/** The `transaction` emit option is not a client in a transaction (a `pg` client or an ORM's). */
export class InvalidTransactionError extends EventsError {
  constructor(
    readonly received: unknown,
    expected: string,
  ) {
    super(
      'EVENTS_INVALID_TRANSACTION',
      `Invalid transaction: expected ${expected}, received ${describeValue(received)}.`,
    );
  }
}
