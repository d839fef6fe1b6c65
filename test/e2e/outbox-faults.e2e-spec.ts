import { Injectable, type INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventOutbox, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from '../support/postgres.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import {
  compileLibrary,
  killAll,
  startWorkerProcess,
  type WorkerProcess,
} from '../fixtures/processes/worker-processes.js';

/** The same queued listener id as the writer process's, plus an in-process recorder. */
@Injectable()
class Orders {
  readonly inProcess: string[] = [];
  readonly queued: string[] = [];

  @OnEvent('order.*')
  onOrder(event: EventEnvelope<{ id: string }>): void {
    this.inProcess.push(event.data.id);
  }

  @OnEvent('order.*', { id: 'orders.queued' })
  @ShouldQueue({ queue: 'outbox-orders' })
  onQueued(event: EventEnvelope<{ id: string }>): void {
    this.queued.push(event.data.id);
  }
}

describe.skipIf(skipPostgres)('transactional outbox: crashes and outages', () => {
  let database: TestDatabase;
  let admin: pg.Pool;
  let server: RedisServer;
  let seq = 0;
  const apps: INestApplicationContext[] = [];
  const children: WorkerProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Pool({ connectionString: database.url, max: 2 });
    admin.on('error', () => undefined); // idle connections ended by the drop
    await admin.query('CREATE TABLE orders (id text PRIMARY KEY)');
    server = await startRedisServer();
  }, 60_000);
  afterEach(async () => {
    killAll(children);
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await admin.query('TRUNCATE orders');
  });
  afterAll(async () => {
    await server?.stop();
    await admin?.end();
    await database?.drop();
  });

  const boot = async (prefix: string) => {
    const app = await createTestApp(
      { providers: [Orders] },
      {
        redis: server.url,
        prefix,
        worker: { concurrency: 8 },
        outbox: { connection: database.url, pollIntervalMs: 50, handoffMs: 100 },
      },
    );
    apps.push(app);
    return app;
  };
  const pendingRows = async () =>
    Number(
      (
        await admin.query<{ n: string }>(
          'SELECT count(*)::text AS n FROM events_outbox WHERE dispatched_at IS NULL',
        )
      ).rows[0].n,
    );

  it('delivers every committed event and none rolled back when the writer is SIGKILLed right after COMMIT', async () => {
    const prefix = `outbox-kill-${++seq}`;
    const app = await boot(prefix);
    const orders = app.get(Orders);
    // The writer's connections carry its name: its backends outlive it (below).
    const writerUrl = new URL(database.url);
    writerUrl.searchParams.set('application_name', prefix);
    const writer = await startWorkerProcess('./outbox-writer.mjs', {
      EVENTS_LIB: compileLibrary(),
      REDIS_URL: server.url,
      PREFIX: prefix,
      DATABASE_URL: writerUrl.toString(),
      COUNT: '400',
      KILL_AT: '120',
    });
    children.push(writer);
    expect(await writer.exited).toBe('SIGKILL');
    // A COMMIT other lanes sent before the kill still completes in PostgreSQL, which notices the
    // client is gone only when it next reads from it: read what committed once none is left.
    await waitFor(
      async () =>
        (
          await admin.query(
            'SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
            [prefix],
          )
        ).rowCount === 0,
      { timeoutMs: 20_000, message: "the killed writer's backends gone" },
    );
    const committed = (await admin.query<{ id: string }>('SELECT id FROM orders')).rows
      .map((r) => r.id)
      .sort();
    expect(committed.length).toBeGreaterThanOrEqual(120);
    expect(committed.every((id) => id.startsWith('ok-'))).toBe(true);
    await waitFor(async () => (await pendingRows()) === 0, { timeoutMs: 20_000 });
    await waitFor(() => new Set(orders.queued).size >= committed.length, { timeoutMs: 20_000 });
    expect([...new Set(orders.queued)].sort()).toEqual(committed);
    // The events the writer could not dispatch ran here, in the relay's app; none rolled back.
    expect(orders.inProcess.length).toBeGreaterThan(0);
    expect(orders.inProcess.every((id) => committed.includes(id))).toBe(true);
  }, 120_000);

  it('keeps committing while Redis is down; the relay delivers all 1,000 once it is back', async () => {
    const prefix = `outbox-down-${++seq}`;
    const app = await boot(prefix);
    const orders = app.get(Orders);
    const bus = app.get(EventBus);
    const outbox = app.get(EventOutbox);
    await server.kill();
    let next = 0;
    const lane = async () => {
      while (next < 1000) {
        const id = `d-${next++}`;
        await outbox.transaction(async (client) => {
          await client.query('INSERT INTO orders (id) VALUES ($1)', [id]);
          await bus.emit('order.created', { id });
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    expect(orders.inProcess).toHaveLength(0);
    expect(await pendingRows()).toBe(1000);
    await server.start();
    await waitFor(() => new Set(orders.queued).size === 1000, { timeoutMs: 60_000 });
    await waitFor(async () => (await pendingRows()) === 0);
    expect(new Set(orders.inProcess).size).toBe(1000);
  }, 120_000);
});
