// The admin connection of the PostgreSQL benchmarks: the local server (trust auth) under the usual
// users, or BENCH_POSTGRES_URL.
import pg from 'pg';

/** Resolves to a connected `pg.Client` on the `postgres` database, and its URL. */
export async function adminClient() {
  const urls = process.env.BENCH_POSTGRES_URL
    ? [process.env.BENCH_POSTGRES_URL]
    : [process.env.PGUSER, 'postgres', 'root']
        .filter(Boolean)
        .map((user) => `postgres://${user}@127.0.0.1:5432/postgres`);
  for (const url of urls) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      return { client, url };
    } catch {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`PostgreSQL unreachable (tried ${urls.join(', ')}); set BENCH_POSTGRES_URL`);
}
