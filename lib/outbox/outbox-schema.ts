import { InvalidOptionError } from '../errors/invalid-option.error.js';

const TABLE = /^(?:[a-z_][a-z0-9_]{0,39}\.)?[a-z_][a-z0-9_]{0,39}$/;

/** Throws unless `table` is `name` or `schema.name` in plain lower-case identifiers. */
export function assertOutboxTable(table: unknown): asserts table is string {
  if (typeof table !== 'string' || !TABLE.test(table)) {
    throw new InvalidOptionError(
      'outbox.table',
      table,
      '"name" or "schema.name": lower-case letters, digits and "_", each at most 40 characters',
    );
  }
}

/** @internal The quoted names of the outbox's objects for `table`. */
export function outboxNames(table: string) {
  assertOutboxTable(table);
  const parts = table.split('.');
  const name = parts[parts.length - 1];
  const schema = parts.length === 2 ? parts[0] : undefined;
  const quoted = parts.map((p) => `"${p}"`).join('.');
  const index = (suffix: string) => `"${name}_${suffix}"`;
  return {
    schema,
    table: quoted,
    pendingIndex: index('pending'),
    keyIndex: index('key'),
    dispatchedIndex: index('dispatched'),
    /** The LISTEN/NOTIFY channel a commit with outbox rows announces itself on. */
    channel: `${table.replace('.', '_')}_committed`,
    /** The advisory lock key that serializes concurrent migrations. */
    lockKey: `nestjs-events-outbox:${table}`,
  };
}

/**
 * The SQL that creates the outbox table and its indexes for `table`: idempotent, so it can run at
 * every start or be copied into your migrations (then set `createTable: false`).
 *
 * Rows that wait (`dispatched_at` and `failed_at` null) are reached through partial indexes, so
 * the relay's claim and the ordering check read only waiting rows, whatever the size of the
 * table; kept rows (`retentionMs`) are removed through the index on `dispatched_at`.
 */
export function outboxMigrationSql(table = 'events_outbox'): string {
  const n = outboxNames(table);
  return `${n.schema === undefined ? '' : `CREATE SCHEMA IF NOT EXISTS "${n.schema}";\n`}
CREATE TABLE IF NOT EXISTS ${n.table} (
  id bigserial PRIMARY KEY,
  event_id text NOT NULL,
  name text NOT NULL,
  payload text NOT NULL,
  ordering_key text,
  delay_ms integer NOT NULL DEFAULT 0,
  -- The emit's job options (its \`priority\` and \`group\`), given to its queued jobs at dispatch.
  priority smallint,
  job_group text,
  -- The process that wrote the row in a transaction it does not commit itself: its relay takes
  -- the row as soon as the commit's notification arrives.
  writer text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  dispatched_at timestamptz,
  failed_at timestamptz,
  failure text
);
-- Tables created before the job options were kept.
ALTER TABLE ${n.table} ADD COLUMN IF NOT EXISTS priority smallint;
ALTER TABLE ${n.table} ADD COLUMN IF NOT EXISTS job_group text;
CREATE INDEX IF NOT EXISTS ${n.pendingIndex} ON ${n.table} (id)
  WHERE dispatched_at IS NULL AND failed_at IS NULL;
CREATE INDEX IF NOT EXISTS ${n.keyIndex} ON ${n.table} (ordering_key, id)
  WHERE dispatched_at IS NULL AND failed_at IS NULL AND ordering_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${n.dispatchedIndex} ON ${n.table} (dispatched_at)
  WHERE dispatched_at IS NOT NULL;
`;
}

/** The migration of the default table (`events_outbox`), for your migration tool. */
export const OUTBOX_MIGRATION_SQL = outboxMigrationSql();
