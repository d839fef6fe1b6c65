import { describe, expect, it } from 'vitest';
import {
  EntityEvents,
  InvalidOptionError,
  InvalidTransactionError,
  ListenersFailedError,
} from 'nestjs-events';
import { ormOutboxSuite } from '../support/outbox-orm.js';
import { skipPostgres } from '../support/postgres.js';
import { createPrismaClient, type TestPrismaClient } from '../support/prisma-client.js';
import { waitFor } from '../support/wait-for.js';
import { OrderEntityListeners } from '../fixtures/outbox.fixtures.js';

interface Order {
  id: string;
  total: number;
}

/** What the spec uses of the extended client (the generated client's own types are not checked in). */
interface OrderDelegate {
  create(args: { data: Order }): Promise<Order>;
  update(args: { where: { id: string }; data: Partial<Order> }): Promise<Order>;
  upsert(args: { where: { id: string }; create: Order; update: Partial<Order> }): Promise<Order>;
  delete(args: { where: { id: string } }): Promise<Order>;
  updateMany(args: { data: Partial<Order> }): Promise<{ count: number }>;
  deleteMany(args: { where: { id: string } }): Promise<{ count: number }>;
  findMany(): Promise<Order[]>;
}
interface Db {
  order: OrderDelegate;
  $transaction<R>(run: (tx: { order: OrderDelegate }) => Promise<R>): Promise<R>;
  $transaction(batch: Promise<unknown>[]): Promise<unknown[]>;
}

const totals = (events: { data: Order }[]) => events.map((e) => `${e.data.id}=${e.data.total}`);

describe.skipIf(skipPostgres)('entity lifecycle events with Prisma', () => {
  let prisma: TestPrismaClient;
  const suite = ormOutboxSuite({
    async open(url) {
      prisma = await createPrismaClient(url);
      await prisma.$queryRawUnsafe(
        'CREATE TABLE orders (id text PRIMARY KEY, total integer NOT NULL)',
      );
    },
    close: () => prisma?.$disconnect(),
  });
  const boot = async () => {
    await prisma.$queryRawUnsafe('DELETE FROM orders');
    const booted = await suite.boot([OrderEntityListeners]);
    const db = booted.app.get(EntityEvents).extendPrisma(prisma as never) as unknown as Db;
    return { ...booted, db, listeners: booted.app.get(OrderEntityListeners) };
  };
  const ids = async (db: Db) => (await db.order.findMany()).map((o) => o.id).sort();

  it('emits saving before and saved after commit on create, update and upsert; nothing after a rollback', async () => {
    const { db, listeners } = await boot();
    // Outside a transaction: the query runs in one of its own.
    await db.order.create({ data: { id: 'a', total: 1 } });
    await waitFor(() => listeners.saved.length === 1 && listeners.queued.length === 1);
    expect(listeners.saving).toEqual(['a']);
    expect(listeners.saved[0].metadata.aggregateId).toBe('Order:a');

    await expect(
      db.$transaction(async (tx) => {
        await tx.order.create({ data: { id: 'b', total: 2 } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await db.$transaction(async (tx) => {
      await tx.order.update({ where: { id: 'a' }, data: { total: 5 } });
      await tx.order.upsert({ where: { id: 'c' }, create: { id: 'c', total: 7 }, update: {} });
    });
    await db.order.upsert({
      where: { id: 'c' },
      create: { id: 'c', total: 0 },
      update: { total: 8 },
    });
    await waitFor(() => listeners.saved.length === 4 && listeners.queued.length === 4);
    expect(listeners.saving).toEqual(['a', 'b', 'a', 'c', 'c']);
    expect(totals(listeners.saved)).toEqual(['a=1', 'a=5', 'c=7', 'c=8']);
    expect(totals(listeners.queued).sort()).toEqual(['a=1', 'a=5', 'c=7', 'c=8']);
    expect(await ids(db)).toEqual(['a', 'c']);
  });

  it('a saving or removing listener that throws aborts the write; delete emits the removed row', async () => {
    const { db, listeners } = await boot();
    await expect(db.order.create({ data: { id: 'n', total: -1 } })).rejects.toThrow(
      ListenersFailedError,
    );
    await db.order.create({ data: { id: 'z', total: 0 } });
    await expect(db.order.update({ where: { id: 'z' }, data: { total: -3 } })).rejects.toThrow(
      ListenersFailedError,
    );
    await expect(db.order.delete({ where: { id: 'z' } })).rejects.toThrow(ListenersFailedError);
    await db.order.create({ data: { id: 'r', total: 3 } });
    await db.$transaction((tx) => tx.order.delete({ where: { id: 'r' } }));
    await waitFor(() => listeners.removed.length === 1);
    expect(listeners.removing).toEqual(['r']);
    expect(totals(listeners.removed)).toEqual(['r=3']);
    expect(listeners.removed[0].metadata.aggregateId).toBe('Order:r');
    expect(totals(listeners.saved).sort()).toEqual(['r=3', 'z=0']);
    expect((await db.order.findMany()).map((o) => `${o.id}=${o.total}`)).toEqual(['z=0']);
  });

  it('bulk writes emit nothing; a batch $transaction refuses a hooked write; bad input', async () => {
    const { app, db, listeners, bus } = await boot();
    const seen: string[] = [];
    bus.on('order.**', (event) => void seen.push(event.name));
    await db.order.create({ data: { id: 'm', total: 1 } });
    expect(await db.order.updateMany({ data: { total: 9 } })).toEqual({ count: 1 });
    expect(await db.order.deleteMany({ where: { id: 'm' } })).toEqual({ count: 1 });
    await expect(
      db.$transaction([db.order.create({ data: { id: 'batch', total: 1 } })]),
    ).rejects.toBeInstanceOf(InvalidTransactionError);
    expect(await ids(db)).toEqual([]);
    await waitFor(() => listeners.saved.length === 1);
    expect(seen).toEqual(['order.saving', 'order.saved']);
    expect(() => app.get(EntityEvents).extendPrisma({} as never)).toThrow(InvalidOptionError);
  });

  it('joins EventOutbox.transaction over the extended client; only the entities given', async () => {
    const { app, db, listeners, outbox } = await boot();
    const others = app.get(EntityEvents).extendPrisma(prisma as never, {
      entities: ['Invoice'],
    }) as unknown as Db;
    await others.order.create({ data: { id: 'o', total: 1 } });
    await outbox.transaction(db, async (tx: Pick<Db, 'order'>) => {
      await tx.order.update({ where: { id: 'o' }, data: { total: 2 } });
    });
    // Dispatched at once, after the commit of EventOutbox.transaction.
    expect(totals(listeners.saved)).toEqual(['o=2']);
    expect(listeners.saving).toEqual(['o']);
  });
});
