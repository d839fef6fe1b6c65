import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** True when PostgreSQL tests are explicitly skipped (`EVENTS_SKIP_POSTGRES=1`). */
export const skipPostgres = process.env.EVENTS_SKIP_POSTGRES === '1';

/** A database created for one spec file, dropped by `drop()`. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

// The local server (trust auth): the user differs between machines, so try the usual ones.
function adminUrls(): string[] {
  if (process.env.EVENTS_TEST_POSTGRES_URL) return [process.env.EVENTS_TEST_POSTGRES_URL];
  const users = [process.env.PGUSER, 'postgres', 'root'].filter((u): u is string => !!u);
  return [...new Set(users)].map((user) => `postgres://${user}@127.0.0.1:5432/postgres`);
}

async function adminClient(): Promise<{ client: pg.Client; url: string }> {
  const errors: string[] = [];
  for (const url of adminUrls()) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      return { client, url };
    } catch (error) {
      errors.push(`${url}: ${(error as Error).message}`);
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(
    `PostgreSQL is unreachable (${errors.join('; ')}). Start it (see .ci/run) or set EVENTS_SKIP_POSTGRES=1 to skip the PostgreSQL tests.`,
  );
}

/** Creates a uniquely named database on the local server; only that database is ever dropped. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { client, url } = await adminClient();
  const name = `nestjs_events_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  return {
    name,
    url: dbUrl.toString(),
    async drop() {
      const admin = await adminClient();
      try {
        await admin.client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.client.end();
      }
    },
  };
}
