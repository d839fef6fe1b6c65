import { Logger } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { TransportError } from '../errors/transport.error.js';
import type { PostgresConnectionOptions } from '../store/event-store.options.js';
import type { PostgresPool } from '../store/postgres/postgres.event-store.js';
import { assertSchemaName } from '../store/postgres/postgres-schema.js';
import { loadPg } from '../store/postgres/pg.driver.js';
import type { SagaRecord } from './saga-definition.js';
import type { SagaFilter, SagaStore } from './saga.store.js';

type Row = { record: string };

/**
 * Sagas in PostgreSQL: one row per saga, its version checked in the `UPDATE ... WHERE` (a write
 * that read an older version changes no row).
 */
export class PostgresSagaStore implements SagaStore {
  readonly kind = 'postgres';
  private readonly table: string;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly pool: PostgresPool & { end?: () => Promise<void> },
    private readonly ownsPool: boolean,
    schema: string,
    private readonly createSchema: boolean,
  ) {
    this.table = `"${schema}"."event_sagas"`;
    this.schemaName = schema;
  }

  private readonly schemaName: string;

  async create(record: SagaRecord): Promise<boolean> {
    const { rows } = await this.query(
      `INSERT INTO ${this.table} (id, name, status, version, active, created_at, updated_at, record)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        record.id,
        record.name,
        record.status,
        record.version,
        // Active until its ending event is out (`ended`), also once finished.
        true,
        record.createdAt,
        record.updatedAt,
        JSON.stringify(record),
      ],
    );
    return rows.length === 1;
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    const { rows } = await this.query(`SELECT record FROM ${this.table} WHERE id = $1`, [id]);
    return rows.length === 0 ? undefined : (JSON.parse((rows[0] as Row).record) as SagaRecord);
  }

  async areActive(ids: readonly string[]): Promise<boolean[]> {
    const { rows } = await this.query(
      `SELECT id FROM ${this.table} WHERE id = ANY($1::text[]) AND active`,
      [ids],
    );
    const active = new Set(rows.map((row) => (row as { id: string }).id));
    return ids.map((id) => active.has(id));
  }

  async update(record: SagaRecord, expectedVersion: number): Promise<boolean> {
    const { rows } = await this.query(
      `UPDATE ${this.table} SET status = $2, version = $3, active = $4, updated_at = $5, record = $6
       WHERE id = $1 AND version = $7 RETURNING id`,
      [
        record.id,
        record.status,
        record.version,
        // Active until its ending event is out (`ended`), also once finished.
        true,
        record.updatedAt,
        JSON.stringify(record),
        expectedVersion,
      ],
    );
    return rows.length === 1;
  }

  async ended(id: string): Promise<void> {
    await this.query(`UPDATE ${this.table} SET active = false WHERE id = $1`, [id]);
  }

  async list(filter: SagaFilter): Promise<SagaRecord[]> {
    const { rows } = await this.query(
      `SELECT record FROM ${this.table}
       WHERE ($1::text IS NULL OR name = $1) AND ($2::text IS NULL OR status = $2)
       ORDER BY created_at, id OFFSET $3 LIMIT $4`,
      [filter.name ?? null, filter.status ?? null, filter.offset, filter.limit],
    );
    return rows.map((row) => JSON.parse((row as Row).record) as SagaRecord);
  }

  async idle(before: number, limit: number): Promise<SagaRecord[]> {
    const { rows } = await this.query(
      `SELECT record FROM ${this.table} WHERE active AND updated_at < $1 ORDER BY updated_at LIMIT $2`,
      [before, limit],
    );
    return rows.map((row) => JSON.parse((row as Row).record) as SagaRecord);
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end?.();
  }

  private async query(text: string, values: unknown[]): Promise<{ rows: unknown[] }> {
    try {
      if (this.createSchema) await (this.ready ??= this.migrate());
      return await this.pool.query(text, values);
    } catch (error) {
      throw new TransportError(`Saga store (PostgreSQL): ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private migrate(): Promise<void> {
    const sql = `
CREATE SCHEMA IF NOT EXISTS "${this.schemaName}";
CREATE TABLE IF NOT EXISTS ${this.table} (
  id text PRIMARY KEY,
  name text NOT NULL,
  status text NOT NULL,
  version bigint NOT NULL,
  active boolean NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  record text NOT NULL
);
CREATE INDEX IF NOT EXISTS event_sagas_created ON ${this.table} (created_at, id);
CREATE INDEX IF NOT EXISTS event_sagas_idle ON ${this.table} (updated_at) WHERE active;`;
    const migrated = this.pool.query(sql).then(() => undefined);
    migrated.catch(() => (this.ready = undefined));
    return migrated;
  }
}

/** The PostgreSQL saga store of a URL or connection options; loads `pg` now (fails the boot without it). */
export async function createPostgresSagaStore(
  options: string | PostgresConnectionOptions,
): Promise<PostgresSagaStore> {
  const config = typeof options === 'string' ? { connectionString: options } : options;
  const schema = config.schema ?? 'public';
  assertSchemaName(schema);
  if (config.pool !== undefined)
    return new PostgresSagaStore(config.pool, false, schema, config.createSchema ?? true);
  if (typeof config.connectionString !== 'string') {
    throw new InvalidOptionError(
      'sagas.postgres.connectionString',
      config.connectionString,
      'a postgres:// URL (or give a pool)',
    );
  }
  const pg = await loadPg('Sagas on PostgreSQL (sagas.store postgres)');
  const pool = new pg.Pool({
    connectionString: config.connectionString,
    max: config.poolSize ?? 10,
  });
  // An idle connection the server ends (a restart, a dropped database) is an 'error' of the pool:
  // without a listener it would end the process. The pool discards the client; say so.
  const logger = new Logger('SagaStore');
  pool.on('error', (error: Error) =>
    logger.warn(`Idle PostgreSQL connection failed: ${error.message}`),
  );
  return new PostgresSagaStore(pool, true, schema, config.createSchema ?? true);
}
