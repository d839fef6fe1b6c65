import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventStoreError,
  PostgresEventStore,
  eventStoreMigrationSql,
  type EventStoreBaseOptions,
  type PostgresPool,
} from 'nestjs-events';
import { createTestDatabase, skipPostgres, type TestDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { eventStoreContract } from './event-store.contract.js';

let database: TestDatabase;
let schemas = 0;
const schemaOf = new WeakMap<PostgresEventStore, string>();

describe.skipIf(skipPostgres)('PostgreSQL event store', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  eventStoreContract('postgres', {
    // Each test gets its own schema in the spec's database: isolated positions, one database.
    create: async (options?: EventStoreBaseOptions) => {
      const schema = `t${++schemas}`;
      const store = new PostgresEventStore({
        ...options,
        connectionString: database.url,
        schema,
        poolSize: 4,
      });
      schemaOf.set(store, schema);
      return store;
    },
    peer: async (store) => {
      const peer = new PostgresEventStore({
        connectionString: database.url,
        schema: schemaOf.get(store as PostgresEventStore),
        poolSize: 2,
      });
      schemaOf.set(peer, schemaOf.get(store as PostgresEventStore)!);
      return peer;
    },
  });

  describe('PostgreSQL specifics', () => {
    it('runs on a pool it is given, with the schema created by the exported migration', async () => {
      const pool = new pg.Pool({ connectionString: database.url, max: 2 });
      pool.on('error', () => undefined); // idle connections ended by the drop
      try {
        await pool.query(eventStoreMigrationSql('migrated'));
        // Idempotent: running it again changes nothing.
        await pool.query(eventStoreMigrationSql('migrated'));
        const poolLike: PostgresPool = pool;
        const store = new PostgresEventStore({
          pool: poolLike,
          schema: 'migrated',
          createSchema: false,
        });
        await store.append('s', [{ name: 'a.b', data: { ok: true } }]);
        const { rows } = await pool.query(
          `SELECT stream_id, version, name, payload->'data' AS data FROM migrated.event_store_events`,
        );
        expect(rows).toEqual([{ stream_id: 's', version: '1', name: 'a.b', data: { ok: true } }]);
        await store.close();
        // The store did not end a pool it was given.
        expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await pool.end();
      }
    });

    it('creates its schema once when many stores start at the same time', async () => {
      const stores = Array.from(
        { length: 5 },
        () =>
          new PostgresEventStore({ connectionString: database.url, schema: 'racing', poolSize: 1 }),
      );
      try {
        await Promise.all(stores.map((s, i) => s.append(`s${i}`, [{ name: 'a.b' }])));
        expect(await stores[0].headPosition()).toBe(5);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('wakes subscriptions of another process through LISTEN/NOTIFY, not the poll', async () => {
      const reader = new PostgresEventStore({
        connectionString: database.url,
        schema: 'notify',
        pollInterval: 600_000,
      });
      const writer = new PostgresEventStore({ connectionString: database.url, schema: 'notify' });
      const admin = new pg.Pool({ connectionString: database.url, max: 1 });
      admin.on('error', () => undefined); // idle connections ended by the drop
      try {
        await writer.migrate();
        const seen: string[] = [];
        const subscription = reader.subscribe({}, (e) => {
          seen.push(e.name);
        });
        await subscription.caughtUp;
        // The LISTEN is issued when the subscription starts watching: wait until the server
        // shows that session, so the append below can only reach the reader by notification.
        await waitFor(async () => {
          const { rows } = await admin.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query = $2`,
            [database.name, 'LISTEN "notify_event_store_appended"'],
          );
          return rows.length === 1;
        });
        await writer.append('s', [{ name: 'x.y' }]);
        await waitFor(() => seen.length === 1);
        expect(seen).toEqual(['x.y']);
        await subscription.close();
      } finally {
        await Promise.all([reader.close(), writer.close(), admin.end()]);
      }
    });

    it('fails with EventStoreError when the server cannot be reached', async () => {
      const store = new PostgresEventStore({
        connectionString: 'postgres://nobody@127.0.0.1:1/none',
      });
      const error = await store.append('s', [{ name: 'a.b' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreError);
      expect(error).toMatchObject({ code: 'EVENTS_STORE_FAILED' });
      await store.close();
    });
  });
});
