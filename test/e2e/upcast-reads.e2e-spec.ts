import { Injectable, type INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  OnEvent,
  OrchestratedSaga,
  SagaManager,
  SagaStep,
  type EventEnvelope,
  type EventsModuleOptions,
  type SagaStepContext,
} from 'nestjs-events';
import { SAGA_STORE } from '../../lib/sagas/saga.constants.js';
import type { SagaStore } from '../../lib/sagas/saga.store.js';
import { createTestApp } from '../support/create-test-app.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from '../support/postgres.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { UpTo2 } from '../fixtures/upcaster.fixtures.js';

/** An in-process listener of `order.placed`: what it was handed. */
@Injectable()
class Placed {
  readonly seen: { data: unknown; version: number | undefined }[] = [];

  @OnEvent('order.placed')
  onPlaced(event: EventEnvelope): void {
    this.seen.push({ data: event.data, version: event.version });
  }
}

/** A saga waiting for `gate.opened`, then for `order.placed` (which may arrive first). */
@OrchestratedSaga({ name: 'gated', key: (event) => (event.data as { orderId: string }).orderId })
@Injectable()
class GatedSaga {
  received: EventEnvelope | undefined;

  @SagaStep({ waitFor: 'gate.opened', tries: 1 })
  opened(): void {}

  @SagaStep({ waitFor: 'order.placed', tries: 1 })
  placed(ctx: SagaStepContext): void {
    this.received = ctx.event;
  }
}

// Events read from somewhere other than a queued job (an outbox row, a saga's inbox) written by an
// older producer reach the handler at the current version, like jobs do.
describe('upcasting where older events are read', () => {
  const apps: INestApplicationContext[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  const start = async (providers: Function[], options: EventsModuleOptions) => {
    const app = await createTestApp({ providers: providers as never[] }, options);
    apps.push(app);
    return app;
  };

  describe.skipIf(skipPostgres)('the outbox relay', () => {
    let database: TestDatabase;
    let admin: pg.Pool;
    beforeAll(async () => {
      database = await createTestDatabase();
      admin = new pg.Pool({ connectionString: database.url, max: 2 });
      admin.on('error', () => undefined); // idle connections ended by the drop
    });
    afterAll(async () => {
      await admin?.end();
      await database?.drop();
    });

    it('delivers a row stored at version 1 to a v2 listener upcast', async () => {
      const outbox = { connection: database.url, table: 'upcast_rows', handoffMs: 0 };
      // The older producer: no upcaster (version 1), its relay off, so the row waits.
      const producer = await start([Placed], { outbox: { ...outbox, relay: false } });
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        await producer.get(EventBus).emit('order.placed', { total: 10 }, { transaction: client });
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const stored = await admin.query<{ payload: string }>('SELECT payload FROM upcast_rows');
      expect(stored.rows).toHaveLength(1);
      expect(producer.get(Placed).seen).toEqual([]);

      const relay = await start([Placed, UpTo2], { outbox: { ...outbox, pollIntervalMs: 50 } });
      await waitFor(() => relay.get(Placed).seen.length === 1);
      expect(relay.get(Placed).seen).toEqual([
        { data: { total: 10, currency: 'EUR' }, version: 2 },
      ]);
    });
  });

  describe('saga waits', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('a waited-for event kept at version 1 reaches the step of a v2 app upcast', async () => {
      const redis = { redis: server.url, prefix: `upcast-saga-${process.pid}` };
      // The older app: the event arrives while the saga still waits for its gate, so it is kept.
      const older = await start([GatedSaga], redis);
      await older.get(SagaManager).start('gated', {}, { id: 'o1' });
      await older.get(EventBus).emit('order.placed', { orderId: 'o1', total: 10 });
      const store = older.get<SagaStore>(SAGA_STORE);
      await waitFor(async () => (await store.get('o1'))?.inbox['1'] !== undefined);
      await older.close();
      apps.splice(apps.indexOf(older), 1);

      const upgraded = await start([GatedSaga, UpTo2], redis);
      await upgraded.get(EventBus).emit('gate.opened', { orderId: 'o1' });
      await waitFor(
        async () => (await upgraded.get(SagaManager).get('o1'))?.status === 'completed',
      );
      const received = upgraded.get(GatedSaga).received;
      expect(received?.data).toEqual({ orderId: 'o1', total: 10, currency: 'EUR' });
      expect(received?.version).toBe(2);
    });
  });
});
