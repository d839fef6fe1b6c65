import { outboxNames } from './outbox-schema.js';

const ROW_ID = /^\d{1,19}$/;

/** Row ids as a SQL list, for statements sent without parameters (several in one round trip). */
function idList(ids: readonly string[]): string {
  for (const id of ids) {
    if (!ROW_ID.test(id)) throw new Error(`not an outbox row id: ${JSON.stringify(id)}`);
  }
  return ids.join(',');
}

/** The columns an insert writes, in the order of its values (see `OutboxWriter`). */
const COLUMNS = 'event_id, name, payload, ordering_key, delay_ms, writer, priority, job_group';

/** The columns a claim returns. */
export interface ClaimedRow {
  readonly id: string;
  readonly payload: string;
  readonly ordering_key: string | null;
  readonly delay_ms: number;
  /** The emit's `priority` option (or its class's), null when none. */
  readonly priority: number | null;
  /** The emit's `group` option, null when none. */
  readonly job_group: string | null;
  /** An earlier row of the same key waits outside this batch. */
  readonly blocked: boolean;
}

/** @internal The statements of the outbox for one table. */
export class OutboxSql {
  readonly names: ReturnType<typeof outboxNames>;
  /** Writes one row and announces the commit: NOTIFY arrives only once the transaction commits. */
  readonly insertAndNotify: string;
  /** Writes one row (a transaction that already announced itself). */
  readonly insert: string;
  /** Claims a batch of waiting rows for this relay (see `claim`). */
  readonly claim: string;
  /** Which of the given rows have an earlier waiting row of their key outside the given ids. */
  readonly blocked: string;

  constructor(
    table: string,
    private readonly retentionMs: number,
  ) {
    const n = (this.names = outboxNames(table));
    this.insert =
      `INSERT INTO ${n.table} (${COLUMNS}) ` +
      `VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text AS id`;
    // A subquery, not a void column: ORM clients (Prisma) refuse to read a void.
    this.insertAndNotify = `${this.insert}, (SELECT 1 FROM pg_notify('${n.channel}', '')) AS notified`;
    const waiting = 'dispatched_at IS NULL AND failed_at IS NULL';
    // The batch is locked (SKIP LOCKED: relays share the work); a row whose key has an earlier
    // waiting row outside the batch (locked by another relay, or not yet due) must wait for it.
    // Both lookups go through the partial indexes of waiting rows.
    this.claim = `WITH batch AS (
  SELECT o.id, o.ordering_key FROM ${n.table} o
   WHERE o.${waiting.replace(' AND ', ' AND o.')}
     AND (o.writer = $1 OR o.created_at < clock_timestamp() - $2 * interval '1 millisecond')
     AND NOT (o.id = ANY($4::bigint[]))
   ORDER BY o.id LIMIT $3
   FOR UPDATE SKIP LOCKED
)
SELECT t.id::text AS id, t.payload, t.ordering_key, t.delay_ms, t.priority, t.job_group,
       (b.ordering_key IS NOT NULL AND EXISTS (
          SELECT 1 FROM ${n.table} p
           WHERE p.ordering_key = b.ordering_key AND p.${waiting.replace(' AND ', ' AND p.')}
             AND p.id < b.id AND p.id NOT IN (SELECT id FROM batch)
             AND NOT (p.id = ANY($4::bigint[])))) AS blocked
  FROM batch b JOIN ${n.table} t ON t.id = b.id
 ORDER BY b.id`;
    this.blocked = `SELECT r.id::text AS id FROM unnest($1::bigint[], $2::text[]) AS r(id, key)
 WHERE r.key IS NOT NULL AND EXISTS (
   SELECT 1 FROM ${n.table} p
    WHERE p.ordering_key = r.key AND p.${waiting.replace(' AND ', ' AND p.')} AND p.id < r.id
      AND NOT (p.id = ANY($3::bigint[])))`;
  }

  /**
   * Inserts rows and commits, in one simple-protocol round trip (which takes no parameters: the
   * values are quoted by `literal`, the driver's `escapeLiteral`). Returns each row's id and event id.
   */
  insertAndCommit(
    rows: readonly (readonly (string | number | null)[])[],
    literal: (value: string) => string,
  ): string {
    const tuples = rows.map(
      (values) => `(${values.map((v) => (v === null ? 'NULL' : literal(String(v)))).join(', ')})`,
    );
    return (
      `INSERT INTO ${this.names.table} (${COLUMNS}) ` +
      `VALUES ${tuples.join(', ')} RETURNING id::text AS id, event_id; COMMIT`
    );
  }

  /**
   * Opens a claim's transaction. Its commit does not wait for the disk: a mark lost in a crash
   * only means the row is dispatched again, which at-least-once delivery allows.
   */
  readonly begin = 'BEGIN; SET LOCAL synchronous_commit TO OFF';

  /** Marks rows dispatched: deleted, or kept with their time when `retentionMs` is set. */
  markDispatched(ids: readonly string[]): string {
    const list = idList(ids);
    return this.retentionMs === 0
      ? `DELETE FROM ${this.names.table} WHERE id IN (${list})`
      : `UPDATE ${this.names.table} SET dispatched_at = clock_timestamp() WHERE id IN (${list})`;
  }

  /** `markDispatched` in a transaction of its own that does not wait for the disk. */
  markDispatchedAlone(ids: readonly string[]): string {
    return `${this.begin}; ${this.markDispatched(ids)}; COMMIT`;
  }

  /** Marks one row failed with its reason ($1 id, $2 reason). */
  get markFailed(): string {
    return `UPDATE ${this.names.table} SET failed_at = clock_timestamp(), failure = $2 WHERE id = $1`;
  }

  /** Deletes up to $2 dispatched rows older than $1 ms (through the index on `dispatched_at`). */
  get cleanup(): string {
    const t = this.names.table;
    return `DELETE FROM ${t} WHERE id IN (
  SELECT id FROM ${t} WHERE dispatched_at IS NOT NULL
     AND dispatched_at < clock_timestamp() - $1 * interval '1 millisecond'
   ORDER BY dispatched_at LIMIT $2)`;
  }
}
