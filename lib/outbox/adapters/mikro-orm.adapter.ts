import { InvalidTransactionError } from '../../errors/invalid-transaction.error.js';
import type { OutboxQuery } from '../outbox-transaction.js';
import type { TransactionClientAdapter } from '../transaction-clients.js';

// MikroORM is an optional peer, reached only through the objects the app hands over (a
// `MikroORM`, an `EntityManager`): typed structurally here, never imported.

interface KnexRaw {
  transacting(trx: unknown): Promise<{ rows?: unknown[] } | unknown[]>;
}

interface MikroOrmConnection {
  getKnex(): { raw(sql: string, bindings: readonly unknown[]): KnexRaw };
}

interface MikroOrmEntityManager {
  transactional(run: (em: MikroOrmEntityManager) => Promise<unknown>): Promise<unknown>;
  getTransactionContext(): unknown;
  getConnection(type?: 'read' | 'write'): MikroOrmConnection;
  flush(): Promise<void>;
}

function isEntityManager(handle: object): handle is MikroOrmEntityManager {
  const h = handle as Partial<MikroOrmEntityManager>;
  return (
    typeof h.transactional === 'function' &&
    typeof h.getTransactionContext === 'function' &&
    typeof h.getConnection === 'function' &&
    typeof h.flush === 'function'
  );
}

/** A `MikroORM` instance: its global `em`, and its metadata. */
function isOrm(handle: object): handle is { em: MikroOrmEntityManager } {
  const h = handle as { em?: unknown; getMetadata?: unknown };
  return (
    typeof h.getMetadata === 'function' &&
    typeof h.em === 'object' &&
    h.em !== null &&
    isEntityManager(h.em)
  );
}

/**
 * The outbox's statements use `$n` parameters; knex (MikroORM's SQL layer) binds `?`. Each `$n`
 * becomes a `?` with its value, so values still travel as parameters, never inlined.
 */
function toKnexBindings(text: string, values: readonly unknown[]): [string, unknown[]] {
  const bindings: unknown[] = [];
  const sql = text.replace(/\?/g, '\\?').replace(/\$(\d+)/g, (_match, n: string) => {
    bindings.push(values[Number(n) - 1]);
    return '?';
  });
  return [sql, bindings];
}

/**
 * MikroORM (PostgreSQL driver, 6.x): an `EntityManager` inside a transaction (the one
 * `em.transactional` passes, or the one of a flush, in entity hooks) as the `transaction` emit
 * option; a `MikroORM` or an `EntityManager` to start one with
 * `EventOutbox.transaction(orm.em, async (em) => ...)`, flushed and committed by MikroORM.
 */
export const mikroOrmAdapter: TransactionClientAdapter = {
  description: 'a MikroORM EntityManager inside a transaction (the em of em.transactional)',
  matches: (handle) => isEntityManager(handle),
  queryOf(handle): OutboxQuery {
    const em = handle as MikroOrmEntityManager;
    // Read now: a flush resets the context once its own transaction ended.
    const trx = em.getTransactionContext();
    if (trx === undefined || trx === null) {
      throw new InvalidTransactionError(
        handle,
        'a MikroORM EntityManager inside a transaction (the one em.transactional passes)',
      );
    }
    const knex = em.getConnection('write').getKnex();
    return async (text, values = []) => {
      const result = await knex.raw(...toKnexBindings(text, values)).transacting(trx);
      return Array.isArray(result) ? result : (result.rows ?? []);
    };
  },
  starts: (handle) => isOrm(handle) || isEntityManager(handle),
  flush: (tx) => (tx as MikroOrmEntityManager).flush(),
  run: (handle, fn) =>
    (isOrm(handle) ? handle.em : (handle as MikroOrmEntityManager)).transactional((em) => fn(em)),
};
