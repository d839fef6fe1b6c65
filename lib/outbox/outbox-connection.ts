import type { Pool } from 'pg';
import { Logger } from '@nestjs/common';
import { OutboxError } from '../errors/outbox.error.js';
import { loadPg } from '../store/postgres/pg.driver.js';
import { runLockedMigration } from '../store/postgres/pg-migration.js';
import type { ResolvedOutboxOptions } from './outbox.options.js';
import { outboxMigrationSql, outboxNames } from './outbox-schema.js';

/** The outbox's pool: its own (from a URL, ended at shutdown) or the app's (never ended). */
export interface OutboxConnection {
  readonly pool: Pool;
  readonly ownsPool: boolean;
}

const FEATURE = 'The transactional outbox (outbox)';

/**
 * Opens the outbox's pool and creates its table (unless `createTable: false`). `pg` is loaded
 * only here, through the one adapter of the optional peer.
 *
 * @throws MissingPeerDependencyError naming `pg`; OutboxError when PostgreSQL refuses.
 */
export async function openOutboxConnection(
  options: ResolvedOutboxOptions,
): Promise<OutboxConnection> {
  let pool: Pool;
  const ownsPool = typeof options.connection === 'string';
  if (typeof options.connection === 'string') {
    const pg = await loadPg(FEATURE);
    pool = new pg.Pool({ connectionString: options.connection, max: 10 });
    const logger = new Logger('EventOutbox');
    pool.on('error', (error) => logger.warn(`Idle PostgreSQL connection failed: ${error.message}`));
    // A checked-out client has no pool listener: a connection the server ends while it is out
    // (a restart, a dropped database) would otherwise be an uncaught 'error' event. Its query, if
    // any, still rejects; the pool discards the client when it is released.
    pool.on('connect', (client) =>
      client.on('error', (error) => logger.warn(`PostgreSQL connection failed: ${error.message}`)),
    );
  } else {
    pool = options.connection as Pool;
  }
  if (options.createTable) {
    try {
      const { lockKey } = outboxNames(options.table);
      await runLockedMigration(pool, lockKey, outboxMigrationSql(options.table));
    } catch (error) {
      if (ownsPool) await pool.end().catch(() => undefined);
      throw new OutboxError(`Cannot create the outbox table ${options.table}: ${String(error)}`, {
        cause: error,
      });
    }
  }
  return { pool, ownsPool };
}
