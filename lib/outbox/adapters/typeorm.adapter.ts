import { InvalidTransactionError } from '../../errors/invalid-transaction.error.js';
import type { OutboxQuery } from '../outbox-transaction.js';
import type { TransactionClientAdapter } from '../transaction-clients.js';

// TypeORM is an optional peer, reached only through the objects the app hands over (a
// `DataSource`, an `EntityManager`, a `QueryRunner`): typed structurally here, never imported.

interface TypeOrmQueryRunner {
  readonly isTransactionActive: boolean;
  query(text: string, parameters?: unknown[]): Promise<unknown>;
}

interface TypeOrmManager {
  readonly queryRunner?: TypeOrmQueryRunner;
  query(text: string, parameters?: unknown[]): Promise<unknown>;
  transaction(run: (manager: TypeOrmManager) => Promise<unknown>): Promise<unknown>;
}

function isQueryRunner(handle: object): handle is TypeOrmQueryRunner {
  const h = handle as Partial<TypeOrmQueryRunner> & { manager?: unknown };
  return typeof h.isTransactionActive === 'boolean' && typeof h.query === 'function' && !!h.manager;
}

function isManager(handle: object): handle is TypeOrmManager {
  // `dataSource` since TypeORM 1.0, `connection` before.
  const h = handle as Partial<TypeOrmManager> & { dataSource?: unknown; connection?: unknown };
  return (
    typeof h.transaction === 'function' &&
    typeof h.query === 'function' &&
    typeof (h.dataSource ?? h.connection) === 'object'
  );
}

function isDataSource(handle: object): handle is { manager: TypeOrmManager } {
  const h = handle as { manager?: unknown; transaction?: unknown; isInitialized?: unknown };
  return (
    typeof h.transaction === 'function' &&
    typeof h.isInitialized === 'boolean' &&
    typeof h.manager === 'object' &&
    h.manager !== null &&
    isManager(h.manager)
  );
}

/** TypeORM rows of a raw query: an array (SELECT, INSERT ... RETURNING). */
function rowsOf(result: unknown): unknown[] {
  return Array.isArray(result) ? result : [];
}

/**
 * TypeORM (PostgreSQL driver): an `EntityManager` or a `QueryRunner` inside a transaction as the
 * `transaction` emit option; a `DataSource` (or an `EntityManager` outside one) to start one with
 * `EventOutbox.transaction(dataSource, async (manager) => ...)`.
 */
export const typeOrmAdapter: TransactionClientAdapter = {
  description: 'a TypeORM EntityManager or QueryRunner inside a transaction',
  matches: (handle) => isQueryRunner(handle) || isManager(handle),
  queryOf(handle): OutboxQuery {
    const runner = isQueryRunner(handle) ? handle : (handle as TypeOrmManager).queryRunner;
    if (runner === undefined || !runner.isTransactionActive) {
      throw new InvalidTransactionError(
        handle,
        'a TypeORM EntityManager inside a transaction (the one DataSource.transaction passes)',
      );
    }
    return (text, values) => runner.query(text, values as unknown[]).then(rowsOf);
  },
  starts: (handle) => isDataSource(handle) || isManager(handle),
  run: (handle, fn) =>
    (isDataSource(handle) ? handle.manager : (handle as TypeOrmManager)).transaction((manager) =>
      fn(manager),
    ),
};
