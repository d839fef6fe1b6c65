/** What a migration needs of a `pg` pool: a client for one transaction. */
interface MigrationPool {
  connect(): Promise<{
    query(text: string, values?: unknown[]): Promise<unknown>;
    release(error?: Error | boolean): void;
  }>;
}

/**
 * Runs idempotent DDL in one transaction under an advisory lock on `lockKey`: concurrent first
 * uses (several replicas starting) must not race on `CREATE ... IF NOT EXISTS`. Rethrows the
 * driver's error after rolling back.
 */
export async function runLockedMigration(
  pool: MigrationPool,
  lockKey: string,
  sql: string,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [lockKey]);
    await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
