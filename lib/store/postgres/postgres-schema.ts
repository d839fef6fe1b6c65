import { InvalidOptionError } from '../../errors/invalid-option.error.js';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,39}$/;

/** Throws unless `schema` is a plain lower-case PostgreSQL identifier (no quoting games). */
export function assertSchemaName(schema: unknown): asserts schema is string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new InvalidOptionError(
      'store.postgres.schema',
      schema,
      'a lower-case identifier: letters, digits and "_", at most 40 characters, not starting with a digit',
    );
  }
}

/** @internal The names of the store's objects in one schema. */
export function postgresNames(schema: string) {
  return {
    events: `"${schema}"."event_store_events"`,
    streams: `"${schema}"."event_store_streams"`,
    head: `"${schema}"."event_store_head"`,
    append: `"${schema}"."event_store_append"`,
    appendRecorded: `"${schema}"."event_store_append_recorded"`,
    /** The LISTEN/NOTIFY channel that announces appends. */
    channel: `${schema}_event_store_appended`,
  };
}

/** The SQLSTATE `event_store_append` raises when the expected version does not match. */
export const WRONG_EXPECTED_VERSION_SQLSTATE = 'EV409';

/**
 * The SQL that creates (or updates) the PostgreSQL event store in `schema`: idempotent, so it can
 * run at every start or be copied into your migrations (then set `createSchema: false`).
 *
 * Appends go through `event_store_append`, which locks the one row of `event_store_head` first:
 * appends are serialized, so global positions are gapless and commit in order, and a reader never
 * sees position N+1 before N (a checkpoint can never skip an event committed late).
 */
export function eventStoreMigrationSql(schema = 'public'): string {
  assertSchemaName(schema);
  const n = postgresNames(schema);
  return `
CREATE SCHEMA IF NOT EXISTS "${schema}";

CREATE TABLE IF NOT EXISTS ${n.head} (
  id smallint PRIMARY KEY CHECK (id = 1),
  position bigint NOT NULL
);
INSERT INTO ${n.head} (id, position) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS ${n.streams} (
  stream_id text PRIMARY KEY,
  version bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS ${n.events} (
  position bigint PRIMARY KEY,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  event_id text NOT NULL,
  name text NOT NULL,
  event_timestamp bigint NOT NULL,
  payload json NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, version)
);

-- p_expected: a version >= 0, -1 for "any", -2 for "no stream".
CREATE OR REPLACE FUNCTION ${n.append}(
  p_stream text,
  p_expected bigint,
  p_ids text[],
  p_names text[],
  p_timestamps bigint[],
  p_payloads text[]
) RETURNS TABLE (first_version bigint, first_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_count integer := cardinality(p_ids);
  v_head bigint;
  v_version bigint;
BEGIN
  -- The head row lock serializes appends until commit (see the header of this migration).
  UPDATE ${n.head} SET position = position + v_count WHERE id = 1 RETURNING position INTO v_head;
  SELECT s.version INTO v_version FROM ${n.streams} s WHERE s.stream_id = p_stream;
  v_version := coalesce(v_version, 0);
  IF (p_expected = -2 AND v_version <> 0) OR (p_expected >= 0 AND v_version <> p_expected) THEN
    RAISE EXCEPTION USING ERRCODE = '${WRONG_EXPECTED_VERSION_SQLSTATE}',
      MESSAGE = 'wrong expected version', DETAIL = v_version::text;
  END IF;
  INSERT INTO ${n.streams} AS s (stream_id, version) VALUES (p_stream, v_version + v_count)
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version;
  INSERT INTO ${n.events} (position, stream_id, version, event_id, name, event_timestamp, payload)
    SELECT v_head - v_count + i, p_stream, v_version + i, p_ids[i], p_names[i], p_timestamps[i],
           p_payloads[i]::json
      FROM generate_subscripts(p_ids, 1) AS i;
  PERFORM pg_notify('${n.channel}', v_head::text);
  RETURN QUERY SELECT v_version + 1, v_head - v_count + 1;
END
$fn$;

-- Recorded events (no version check), each to its own stream, positioned in array order.
CREATE OR REPLACE FUNCTION ${n.appendRecorded}(
  p_streams text[],
  p_ids text[],
  p_names text[],
  p_timestamps bigint[],
  p_payloads text[]
) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  v_count integer := cardinality(p_ids);
  v_head bigint;
BEGIN
  UPDATE ${n.head} SET position = position + v_count WHERE id = 1 RETURNING position INTO v_head;
  -- One statement: versions continue each stream's current one, in array order.
  WITH input AS (
    SELECT i, p_streams[i] AS stream_id,
           coalesce(s.version, 0) + row_number() OVER (PARTITION BY p_streams[i] ORDER BY i) AS version
      FROM generate_subscripts(p_ids, 1) AS i
      LEFT JOIN ${n.streams} s ON s.stream_id = p_streams[i]
  ), inserted AS (
    INSERT INTO ${n.events} (position, stream_id, version, event_id, name, event_timestamp, payload)
      SELECT v_head - v_count + r.i, r.stream_id, r.version, p_ids[r.i], p_names[r.i],
             p_timestamps[r.i], p_payloads[r.i]::json
        FROM input r
  )
  INSERT INTO ${n.streams} AS s (stream_id, version)
    SELECT stream_id, max(version) FROM input GROUP BY stream_id
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version;
  PERFORM pg_notify('${n.channel}', v_head::text);
END
$fn$;
`;
}
