import { WrongExpectedVersionError } from '../../errors/wrong-expected-version.error.js';
import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import { EventStore, type EventStoreBaseOptions, type StoredRow } from '../event-store.js';
import { ExpectedVersion, type AllFilter, type PreparedEvent } from '../event-store.types.js';
import {
  assertSchemaName,
  postgresNames,
  WRONG_EXPECTED_VERSION_SQLSTATE,
} from './postgres-schema.js';
import { toSqlNameFilter } from './postgres-pattern.js';
import { assertOptionalInteger } from '../event-store.validation.js';
import { PostgresConnection } from './postgres-connection.js';
import { PostgresListener } from './postgres-listener.js';

/**
 * A `pg.Pool` (or anything with its `query` and `connect` methods). Typed structurally, so the
 * library's types do not depend on `@types/pg`.
 */
export interface PostgresPool {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  connect(): Promise<unknown>;
}

/** Connection and schema of the PostgreSQL event store. */
export interface PostgresEventStoreOptions extends EventStoreBaseOptions {
  /** A `postgres://` URL. Required unless `pool` is given. */
  connectionString?: string;
  /** An existing `pg.Pool` to use instead of opening one; the store never ends it. @default undefined */
  pool?: PostgresPool;
  /** Connections of the pool the store opens (one more is taken while subscriptions listen). @default 10 */
  poolSize?: number;
  /** The PostgreSQL schema holding the store's tables. @default 'public' */
  schema?: string;
  /**
   * Create the tables and function on first use (idempotent, under an advisory lock). Set it to
   * false when your migrations run `eventStoreMigrationSql()`.
   * @default true
   */
  createSchema?: boolean;
  /** Subscriptions re-read at least this often (ms) even if a notification was missed. @default 1000 */
  pollInterval?: number;
}

type Row = { stream_id: string; version: string; position: string; payload: string };

const EXPECTED_CODE = { [ExpectedVersion.Any]: -1, [ExpectedVersion.NoStream]: -2 } as const;

/**
 * The PostgreSQL event store (the `pg` package is an optional peer dependency, loaded only when
 * this store is used). Appends are atomic, checked against the expected version and serialized
 * in the database, so any number of processes can append to the same stream safely; appends are
 * announced with LISTEN/NOTIFY to the subscriptions of every process.
 */
export class PostgresEventStore extends EventStore {
  protected readonly pollIntervalMs: number;
  private readonly schema: string;
  private readonly names: ReturnType<typeof postgresNames>;
  private readonly connection: PostgresConnection;
  private readonly listener: PostgresListener;

  constructor(private readonly config: PostgresEventStoreOptions) {
    super(config);
    this.schema = config.schema ?? 'public';
    assertSchemaName(this.schema);
    this.names = postgresNames(this.schema);
    if (config.pool === undefined && typeof config.connectionString !== 'string') {
      throw new InvalidOptionError(
        'store.postgres.connectionString',
        config.connectionString,
        'a postgres:// URL (or give a pool)',
      );
    }
    this.pollIntervalMs = config.pollInterval ?? 1000;
    assertOptionalInteger('store.postgres.pollInterval', this.pollIntervalMs, 10);
    assertOptionalInteger('store.postgres.poolSize', config.poolSize, 1);
    this.connection = new PostgresConnection(
      {
        connectionString: config.connectionString,
        pool: config.pool,
        poolSize: config.poolSize,
        createSchema: config.createSchema ?? true,
        schema: this.schema,
        eventsTable: this.names.events,
      },
      this.logger,
    );
    this.listener = new PostgresListener(
      this.connection,
      this.names.channel,
      this.pollIntervalMs,
      this.logger,
      () => this.notifyAppended(),
    );
  }

  /** Creates the schema now (it is otherwise created by the first operation). */
  async migrate(): Promise<void> {
    await this.connection.connect();
  }

  async headPosition(): Promise<number> {
    const result = await this.query<{ position: string }>(
      `SELECT position::text AS position FROM ${this.names.head} WHERE id = 1`,
    );
    return Number(result[0]?.position ?? 0);
  }

  protected async write(
    streamId: string,
    events: readonly PreparedEvent[],
    expected: ExpectedVersion,
  ): Promise<StoredRow[]> {
    const code = typeof expected === 'number' ? expected : EXPECTED_CODE[expected];
    let first: { first_version: string; first_position: string };
    try {
      [first] = await this.query<{ first_version: string; first_position: string }>(
        `SELECT first_version::text, first_position::text FROM ${this.names.append}($1, $2, $3, $4, $5, $6)`,
        [
          streamId,
          code,
          events.map((e) => e.id),
          events.map((e) => e.name),
          events.map((e) => e.timestamp),
          events.map((e) => e.payload),
        ],
      );
    } catch (error) {
      const pgError = error as { code?: string; detail?: string };
      if (pgError.code === WRONG_EXPECTED_VERSION_SQLSTATE) {
        throw new WrongExpectedVersionError(streamId, expected, Number(pgError.detail));
      }
      throw error;
    }
    const version = Number(first.first_version);
    const position = Number(first.first_position);
    return events.map((event, i) => ({
      streamId,
      version: version + i,
      position: position + i,
      payload: event.payload,
    }));
  }

  /**
   * @internal Appends recorded events through `query`, a client inside the caller's transaction
   * (the outbox's): they are in the store if, and only if, that transaction commits. The head
   * row stays locked until then, so appends of other transactions wait for it.
   */
  async appendRecordedWith(
    query: (text: string, values: unknown[]) => Promise<unknown>,
    entries: readonly { readonly streamId: string; readonly event: PreparedEvent }[],
  ): Promise<void> {
    await query(`SELECT FROM ${this.names.appendRecorded}($1, $2, $3, $4, $5)`, [
      entries.map((e) => e.streamId),
      entries.map((e) => e.event.id),
      entries.map((e) => e.event.name),
      entries.map((e) => e.event.timestamp),
      entries.map((e) => e.event.payload),
    ]);
  }

  protected override async writeRecorded(
    entries: readonly { readonly streamId: string; readonly event: PreparedEvent }[],
  ): Promise<void> {
    await this.appendRecordedWith((text, values) => this.query(text, values), entries);
  }

  protected async readStreamRows(
    streamId: string,
    minVersion: number,
    maxVersion: number,
    backwards: boolean,
    limit: number,
  ): Promise<StoredRow[]> {
    const rows = await this.query<Row>(
      `SELECT e.stream_id, e.version::text AS version, e.position::text AS position,
              e.payload::text AS payload
         FROM ${this.names.events} e
        WHERE e.stream_id = $1 AND e.version >= $2 AND e.version <= $3
        ORDER BY e.version ${backwards ? 'DESC' : 'ASC'}
        LIMIT $4`,
      [streamId, minVersion, maxVersion, limit],
    );
    return rows.map(toStoredRow);
  }

  protected async readAllRows(
    fromPosition: number,
    filter: AllFilter,
    limit: number,
  ): Promise<{ rows: StoredRow[]; nextPosition: number; isEnd: boolean }> {
    const values: unknown[] = [fromPosition, limit];
    const where: string[] = ['e.position >= $1', 'e.position <= h.position'];
    const param = (value: unknown) => `$${values.push(value)}`;
    if (filter.toPosition !== undefined) where.push(`e.position <= ${param(filter.toPosition)}`);
    if (filter.since !== undefined) where.push(`e.event_timestamp >= ${param(filter.since)}`);
    if (filter.until !== undefined) where.push(`e.event_timestamp <= ${param(filter.until)}`);
    if (filter.patterns !== undefined) {
      const { names, regex } = toSqlNameFilter(filter.patterns);
      const alternatives: string[] = [];
      if (names.length > 0) alternatives.push(`e.name = ANY(${param(names)}::text[])`);
      if (regex !== undefined) alternatives.push(`('.' || e.name) ~ ${param(regex)}`);
      where.push(`(${alternatives.join(' OR ')})`);
    }
    // One statement, one snapshot: the head read here bounds what the page can see, so a short
    // page proves that everything up to the head was scanned.
    const result = await this.query<Partial<Row> & { head: string }>(
      `SELECT h.position::text AS head, p.stream_id, p.version::text, p.position::text, p.payload
         FROM ${this.names.head} h
         LEFT JOIN LATERAL (
           SELECT e.stream_id, e.version, e.position, e.payload::text AS payload
             FROM ${this.names.events} e
            WHERE ${where.join(' AND ')}
            ORDER BY e.position
            LIMIT $2
         ) p ON true
        WHERE h.id = 1`,
      values,
    );
    const head = Number(result[0]?.head ?? 0);
    const rows = result.filter((r) => r.position !== null).map((r) => toStoredRow(r as Row));
    if (rows.length === limit) {
      return { rows, nextPosition: rows[rows.length - 1].position + 1, isEnd: false };
    }
    const end = Math.min(head, filter.toPosition ?? Number.MAX_SAFE_INTEGER);
    return { rows, nextPosition: Math.max(fromPosition, end + 1), isEnd: true };
  }

  protected async readStreamVersion(streamId: string): Promise<number> {
    const rows = await this.query<{ version: string }>(
      `SELECT version::text FROM ${this.names.streams} WHERE stream_id = $1`,
      [streamId],
    );
    return Number(rows[0]?.version ?? 0);
  }

  protected override watching(isWatched: boolean): void {
    this.listener.watching(isWatched);
  }

  protected async release(): Promise<void> {
    this.listener.unlisten();
    await this.connection.close();
  }

  private query<R>(text: string, values?: unknown[]): Promise<R[]> {
    return this.connection.query<R>(text, values);
  }
}

function toStoredRow(row: Row): StoredRow {
  return {
    streamId: row.stream_id,
    version: Number(row.version),
    position: Number(row.position),
    payload: row.payload,
  };
}
