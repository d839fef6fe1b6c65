import { InvalidTransactionError } from '../errors/invalid-transaction.error.js';
import type { OutboxQuery } from './outbox-transaction.js';

/** How the outbox writes through one kind of transaction handle (a `pg` client, an ORM's). */
export interface TransactionClientAdapter {
  /** What a user calls it in error messages. */
  readonly description: string;
  /** Whether `handle` is of this kind. */
  matches(handle: object): boolean;
  /** Runs SQL on the handle's transaction. @throws InvalidTransactionError when it is in none. */
  queryOf(handle: object): OutboxQuery;
  /** Whether `handle` can start a transaction of its own (an ORM's data source or client). */
  starts?(handle: object): boolean;
  /** Runs `fn` in a new transaction of the ORM, committed (or rolled back) by the ORM. */
  run?(handle: object, fn: (tx: object) => Promise<unknown>): Promise<unknown>;
  /**
   * Writes what the ORM still holds (MikroORM's unit of work) once the callback of `run`
   * resolved, still inside its transaction, so emits of the ORM's hooks join it.
   */
  flush?(tx: object): Promise<void>;
}

/** The client `EventOutbox.transaction` hands to its callback (a `pg` `PoolClient`). */
export interface OutboxClient {
  query<R = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** A `pg` client (`Client` or `PoolClient`), told apart from a `Pool`, which is in no transaction. */
export const pgClientAdapter: TransactionClientAdapter = {
  description: 'a pg client (PoolClient) inside BEGIN',
  matches(handle) {
    // A Pool has `query` too, but no `escapeLiteral`: only a client can be inside BEGIN.
    const h = handle as Record<string, unknown>;
    return typeof h.query === 'function' && typeof h.escapeLiteral === 'function';
  },
  queryOf(handle) {
    const client = handle as OutboxClient;
    return (text, values) => client.query(text, values).then((result) => result.rows);
  },
};

/**
 * The SQL door of a `transaction` emit option: the first adapter that knows the handle.
 * @throws InvalidTransactionError naming what is accepted.
 */
export function queryOfHandle(
  handle: unknown,
  adapters: readonly TransactionClientAdapter[],
): OutboxQuery {
  if (handle !== null && typeof handle === 'object') {
    for (const adapter of adapters) if (adapter.matches(handle)) return adapter.queryOf(handle);
  }
  throw new InvalidTransactionError(handle, adapters.map((a) => a.description).join(', or '));
}
