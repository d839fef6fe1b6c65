import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventOutbox, InvalidTransactionError } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from '../support/postgres.js';
import {
  createPrismaClient,
  type TestPrismaClient,
  type TestPrismaTx,
} from '../support/prisma-client.js';
import { waitFor } from '../support/wait-for.js';
import { OrderListeners } from '../fixtures/outbox.fixtures.js';

describe.skipIf(skipPostgres)('transactional outbox with Prisma', () => {
  let database: TestDatabase;
  let prisma: TestPrismaClient;
  const apps: INestApplicationContext[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = await createPrismaClient(database.url);
    await prisma.$queryRawUnsafe('CREATE TABLE orders (id text PRIMARY KEY)');
  }, 60_000);
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  const boot = async () => {
    const app = await createTestApp(
      { providers: [OrderListeners] },
      { outbox: { connection: database.url, pollIntervalMs: 50 } },
    );
    apps.push(app);
    return {
      bus: app.get(EventBus),
      outbox: app.get(EventOutbox),
      orders: app.get(OrderListeners),
    };
  };
  const ids = (events: { data: unknown }[]) => events.map((e) => (e.data as { id: string }).id);

  it('joins $transaction: delivered after its commit, nothing after its rollback', async () => {
    const { bus, outbox, orders } = await boot();
    await outbox.transaction(prisma, async (tx: TestPrismaTx) => {
      await tx.order.create({ data: { id: 'p1' } });
      await bus.emit('order.created', { id: 'p1' });
      expect(orders.inProcess).toHaveLength(0);
    });
    expect(ids(orders.inProcess)).toEqual(['p1']);
    await expect(
      outbox.transaction(prisma, async (tx: TestPrismaTx) => {
        await tx.order.create({ data: { id: 'p2' } });
        await bus.emit('order.created', { id: 'p2' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    // A transaction the app started, its client given to the emit.
    await prisma.$transaction(async (tx) => {
      await tx.order.create({ data: { id: 'p3' } });
      await bus.emit('order.created', { id: 'p3' }, { transaction: tx });
    });
    await waitFor(() => orders.queued.length === 2 && orders.inProcess.length === 2);
    expect((await prisma.order.findMany()).map((o) => o.id).sort()).toEqual(['p1', 'p3']);
    expect(ids(orders.inProcess)).toEqual(['p1', 'p3']);
    expect(ids(orders.queued).sort()).toEqual(['p1', 'p3']);
  });

  it('refuses the PrismaClient itself as the transaction of an emit', async () => {
    const { bus } = await boot();
    await expect(
      bus.emit('order.created', { id: 'p4' }, { transaction: prisma }),
    ).rejects.toBeInstanceOf(InvalidTransactionError);
  });
});
