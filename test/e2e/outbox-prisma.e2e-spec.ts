import { describe, expect, it } from 'vitest';
import { InvalidTransactionError } from 'nestjs-events';
import { idsOf as ids, ormOutboxSuite } from '../support/outbox-orm.js';
import { skipPostgres } from '../support/postgres.js';
import {
  createPrismaClient,
  type TestPrismaClient,
  type TestPrismaTx,
} from '../support/prisma-client.js';
import { waitFor } from '../support/wait-for.js';

describe.skipIf(skipPostgres)('transactional outbox with Prisma', () => {
  let prisma: TestPrismaClient;
  const suite = ormOutboxSuite({
    async open(url) {
      prisma = await createPrismaClient(url);
      await prisma.$queryRawUnsafe(
        'CREATE TABLE orders (id text PRIMARY KEY, total integer NOT NULL DEFAULT 0)',
      );
    },
    close: () => prisma?.$disconnect(),
  });
  const boot = () => suite.boot();

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
