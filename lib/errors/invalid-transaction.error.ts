import { describeValue, EventsError } from './events.error.js';

/** The `transaction` emit option is not a client in a transaction (a `pg` client or an ORM's). */
export class InvalidTransactionError extends EventsError {
  constructor(
    readonly received: unknown,
    expected: string,
  ) {
    super(
      'EVENTS_INVALID_TRANSACTION',
      `Invalid transaction: expected ${expected}, received ${describeHandle(received)}.`,
    );
  }
}

/** A handle by its class: ORM clients are proxies that JSON cannot walk. */
function describeHandle(value: unknown): string {
  if (value === null || typeof value !== 'object') return describeValue(value);
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)
    ?.constructor?.name;
  return name && name !== 'Object' ? `an instance of ${name}` : describeValue(value);
}
