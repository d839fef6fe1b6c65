import type { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { EventStoreError } from '../../errors/event-store.error.js';
import { eventStoreMigrationSql, WRONG_EXPECTED_VERSION_SQLSTATE } from './postgres-schema.js';
import { loadPg } from './pg.driver.js';
import { runLockedMigration } from './pg-migration.js';

/** How the PostgreSQL event store reaches its database (from `PostgresEventStoreOptions`). */
export interface PostgresConnectionConfig {
  readonly connectionString?: string;
  /** The user's pool, never ended here; without it, a pool is opened (and ended at close). */
  readonly pool?: unknown;
  readonly poolSize?: number;
  /** Create the schema on first use (idempotent, under an advisory lock). */
  readonly createSchema: boolean;
  readonly schema: string;
  /** The events table: its name keys the migration's advisory lock. */
  readonly eventsTable: string;
}

/**
 * The event store's pool: opened (and the schema created) on first use, retried on the next
 * operation after a failure, ended at close when the store opened it.
 */
export class PostgresConnection {
  private pool: Pool | undefined;
  private readonly ownsPool: boolean;
  private ready: Promise<Pool> | undefined;
  private closed = false;

  constructor(
    private readonly config: PostgresConnectionConfig,
    private readonly logger: Logger,
  ) {
    this.pool = config.pool as Pool | undefined;
    this.ownsPool = config.pool === undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The rows of one statement. @throws EventStoreError (the append's own refusal passes as is). */
  async query<R>(text: string, values?: unknown[]): Promise<R[]> {
    const pool = await this.connect();
    try {
      const result = await pool.query(text, values);
      return result.rows as R[];
    } catch (error) {
      // The append function's own refusal is turned into WrongExpectedVersionError by the store.
      if ((error as { code?: string }).code === WRONG_EXPECTED_VERSION_SQLSTATE) throw error;
      throw new EventStoreError(`PostgreSQL event store query failed: ${String(error)}`, {
        cause: error,
      });
    }
  }

  /** The pool, once open and migrated. */
  connect(): Promise<Pool> {
    if (this.closed) return Promise.reject(new EventStoreError('The event store is closed.'));
    this.ready ??= this.open().catch((error: unknown) => {
      // Not cached: the next operation tries again (the server may be back).
      this.ready = undefined;
      throw error instanceof EventStoreError
        ? error
        : new EventStoreError(`Cannot connect the PostgreSQL event store: ${String(error)}`, {
            cause: error,
          });
    });
    return this.ready;
  }

  /** Refuses further operations; ends the pool if it was opened here. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    if (this.ownsPool && pool) {
      this.pool = undefined;
      this.ready = undefined;
      await pool.end();
    }
  }

  private async open(): Promise<Pool> {
    let pool = this.pool;
    if (!pool) {
      const pg = await loadPg();
      pool = new pg.Pool({
        connectionString: this.config.connectionString,
        max: this.config.poolSize ?? 10,
      });
      pool.on('error', (error) =>
        this.logger.warn(`Idle PostgreSQL connection failed: ${error.message}`),
      );
      this.pool = pool;
    }
    if (this.config.createSchema) await this.migrateWith(pool);
    return pool;
  }

  private async migrateWith(pool: Pool): Promise<void> {
    try {
      await runLockedMigration(
        pool,
        this.config.eventsTable,
        eventStoreMigrationSql(this.config.schema),
      );
    } catch (error) {
      throw new EventStoreError(`Cannot create the event store schema: ${String(error)}`, {
        cause: error,
      });
    }
  }
}
