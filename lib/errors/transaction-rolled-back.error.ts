import { EventsError } from './events.error.js';

/**
 * An outbox transaction was rolled back although its callback returned: something inside it
 * failed and was caught (an emit, an `afterCommit: false` listener, a nested `transaction`).
 * `cause` is the first such failure.
 */
export class TransactionRolledBackError extends EventsError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(
      'EVENTS_TRANSACTION_ROLLED_BACK',
      `The outbox transaction was rolled back: ${reason}.`,
      options,
    );
  }
}
