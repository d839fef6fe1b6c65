import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import { assertOutboxTable } from './outbox-schema.js';

/**
 * A `pg.Pool` (or anything with its `query` and `connect` methods), typed structurally so the
 * library's types do not depend on `@types/pg`.
 */
export interface OutboxPool {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  connect(): Promise<unknown>;
}

/** The `outbox` option of `EventsModule.forRoot`: the transactional outbox on PostgreSQL. */
export interface OutboxOptions {
  /**
   * A `postgres://` URL (the outbox opens a pool of its own and ends it at shutdown) or a `pg`
   * `Pool` of your app (never ended by the outbox). The `pg` package must be installed.
   */
  connection: string | OutboxPool;
  /**
   * The outbox table, `name` or `schema.name` (lower-case identifiers). Created with its indexes
   * on first use unless `createTable` is false (then run `outboxMigrationSql(table)` yourself).
   * @default 'events_outbox'
   */
  table?: string;
  /**
   * Create the table and its indexes at boot (idempotent, under an advisory lock).
   * @default true
   */
  createTable?: boolean;
  /**
   * Run the relay in this app: it dispatches the rows that their writer did not (it died, or the
   * transport was down). `false`: this app only writes and dispatches its own commits.
   * @default true
   */
  relay?: boolean;
  /** Rows a relay claims per round trip. @default 200 */
  batchSize?: number;
  /** The relay looks for rows at least this often (ms), even if no notification arrived. @default 1000 */
  pollIntervalMs?: number;
  /**
   * How long (ms) other relays leave a committed row to the process that wrote it, so that
   * in-process listeners run where the event was emitted unless that process died.
   * @default 5000
   */
  handoffMs?: number;
  /**
   * Keep dispatched rows this long (ms), then delete them in batches; 0 deletes a row as soon
   * as it is dispatched.
   * @default 0
   */
  retentionMs?: number;
}

/** The `outbox` option after defaults and validation. */
export interface ResolvedOutboxOptions {
  readonly connection: string | OutboxPool;
  readonly table: string;
  readonly createTable: boolean;
  readonly relay: boolean;
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  readonly handoffMs: number;
  readonly retentionMs: number;
}

const OPTION_NAMES = [
  'connection',
  'table',
  'createTable',
  'relay',
  'batchSize',
  'pollIntervalMs',
  'handoffMs',
  'retentionMs',
];

function isPool(value: unknown): value is OutboxPool {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as OutboxPool).query === 'function' &&
    typeof (value as OutboxPool).connect === 'function'
  );
}

/**
 * Validates the `outbox` module option and applies its defaults. Pure.
 *
 * @throws InvalidOptionError naming the sub-option.
 */
export function resolveOutboxOptions(value: unknown): ResolvedOutboxOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('outbox', value, 'an options object with a connection');
  }
  for (const key of Object.keys(value)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new InvalidOptionError(
        `outbox.${key}`,
        (value as Record<string, unknown>)[key],
        `no such option (allowed: ${OPTION_NAMES.join(', ')})`,
      );
    }
  }
  const options = value as OutboxOptions;
  const { connection } = options;
  if (typeof connection === 'string') {
    if (!/^postgres(ql)?:\/\/./.test(connection)) {
      throw new InvalidOptionError(
        'outbox.connection',
        connection,
        'a postgres:// URL or a pg Pool',
      );
    }
  } else if (!isPool(connection)) {
    throw new InvalidOptionError('outbox.connection', connection, 'a postgres:// URL or a pg Pool');
  }
  const table = options.table ?? 'events_outbox';
  assertOutboxTable(table);
  for (const key of ['createTable', 'relay'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new InvalidOptionError(`outbox.${key}`, options[key], 'a boolean');
    }
  }
  const batchSize = options.batchSize ?? 200;
  assertInteger('outbox.batchSize', batchSize, 1, 10_000);
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  assertInteger('outbox.pollIntervalMs', pollIntervalMs, 10, 3_600_000);
  const handoffMs = options.handoffMs ?? 5000;
  assertInteger('outbox.handoffMs', handoffMs, 0, 3_600_000);
  const retentionMs = options.retentionMs ?? 0;
  assertInteger('outbox.retentionMs', retentionMs, 0, 365 * 24 * 3_600_000);
  return {
    connection,
    table,
    createTable: options.createTable ?? true,
    relay: options.relay ?? true,
    batchSize,
    pollIntervalMs,
    handoffMs,
    retentionMs,
  };
}
