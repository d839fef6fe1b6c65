import type { Pool, PoolClient } from 'pg';
import { OutboxError } from '../errors/outbox.error.js';
import type { OutboxSql } from './outbox-sql.js';
import { OutboxTransaction, type WrittenRow } from './outbox-transaction.js';
import { pgClientAdapter } from './transaction-clients.js';

/**
 * `EventOutbox.transaction(fn)`: BEGIN on a client of the outbox's pool, the body, then COMMIT
 * with the transaction's rows inserted by the same round trip; ROLLBACK and rethrow when the body
 * (or the commit) fails. Resolves to the body's result and the committed rows, to dispatch.
 */
export async function runPoolTransaction<R>(
  pool: Pool,
  sql: OutboxSql,
  body: (tx: OutboxTransaction, client: PoolClient) => Promise<R>,
): Promise<{ result: R; rows: WrittenRow[] }> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new OutboxError(`Cannot open an outbox transaction: ${String(error)}`, {
      cause: error,
    });
  }
  const tx = new OutboxTransaction(client, pgClientAdapter.queryOf(client), true, true);
  let result: R;
  try {
    await client.query('BEGIN');
    result = await body(tx, client);
    await commitWithRows(client, tx, sql);
  } catch (error) {
    tx.isClosed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
    throw error;
  }
  tx.isClosed = true;
  client.release();
  return { result, rows: tx.rows };
}

/** COMMIT, with the transaction's rows inserted by the same round trip; notes their ids. */
async function commitWithRows(client: PoolClient, tx: OutboxTransaction, sql: OutboxSql) {
  const deferred = tx.deferred ?? [];
  if (deferred.length === 0) {
    await client.query('COMMIT');
    return;
  }
  const statement = sql.insertAndCommit(
    deferred.map((row) => row.values),
    (value) => client.escapeLiteral(value),
  );
  // Two statements: pg answers with one result each.
  const [inserted] = (await client.query(statement)) as unknown as {
    rows: { id: string; event_id: string }[];
  }[];
  const ids = new Map(inserted.rows.map((row) => [row.event_id, row.id]));
  for (const { envelope, orderingKey, delayMs, jobOptions } of deferred) {
    const id = ids.get(envelope.id);
    if (id !== undefined) tx.rows.push({ id, envelope, orderingKey, delayMs, jobOptions });
  }
}
