import { EntitySchema as MikroSchema, type MikroORM } from '@mikro-orm/postgresql';
import { EntitySchema as TypeOrmSchema, type DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import {
  AfterSave,
  EntityEvents,
  EventOutbox,
  InvalidOptionError,
  InvalidPatternError,
  ListenersFailedError,
  OutboxNotConfiguredError,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { openMikroOrm, openTypeOrm } from '../support/orm-sources.js';
import { ormOutboxSuite, type OrmOutboxSuite } from '../support/outbox-orm.js';
import { skipPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { OrderEntityListeners } from '../fixtures/outbox.fixtures.js';

interface Order {
  id: string;
  total: number;
}

/** What each ORM does to orders, the same story told through either one. */
interface OrderWrites {
  /** Inserts (or updates) the orders in one transaction, then runs `after` in it. */
  save(orders: Order[], after?: () => Promise<void>): Promise<void>;
  /** Inserts and updates in `EventOutbox.transaction` over the ORM. */
  saveInOutbox(outbox: EventOutbox, order: Order): Promise<void>;
  remove(id: string): Promise<void>;
  ids(): Promise<string[]>;
  source(): object;
}

const totals = (events: { data: Order }[]) => events.map((e) => `${e.data.id}=${e.data.total}`);

function entityEventsStory(suite: OrmOutboxSuite, orm: OrderWrites) {
  const boot = async () => {
    const booted = await suite.boot([OrderEntityListeners]);
    booted.app.get(EntityEvents).attach(orm.source());
    return { ...booted, listeners: booted.app.get(OrderEntityListeners) };
  };

  it('emits saving before and saved after commit on insert and update; nothing after a rollback', async () => {
    const { listeners, outbox } = await boot();
    await orm.save([{ id: 'a', total: 1 }]);
    await waitFor(() => listeners.saved.length === 1 && listeners.queued.length === 1);
    expect(listeners.saving).toEqual(['a']);
    expect(totals(listeners.queued)).toEqual(['a=1']);
    // Ordered per entity: its id is the event's aggregate id.
    expect(listeners.saved[0].metadata.aggregateId).toBe('Order:a');

    await expect(
      orm.save([{ id: 'b', total: 2 }], () => Promise.reject(new Error('rolled back'))),
    ).rejects.toThrow('rolled back');
    await orm.saveInOutbox(outbox, { id: 'a', total: 5 });
    // EventOutbox.transaction dispatched at once, after the ORM's commit.
    expect(totals(listeners.saved)).toEqual(['a=1', 'a=5']);
    await waitFor(() => listeners.queued.length === 2);
    expect(listeners.saving).toEqual(['a', 'b', 'a']);
    expect(totals(listeners.queued)).toEqual(['a=1', 'a=5']);
    expect(await orm.ids()).toEqual(['a']);
  });

  it('a saving or removing listener that throws aborts the write', async () => {
    const { listeners } = await boot();
    await expect(orm.save([{ id: 'n', total: -1 }])).rejects.toThrow(ListenersFailedError);
    await orm.save([{ id: 'z', total: 0 }]);
    await expect(orm.remove('z')).rejects.toThrow(ListenersFailedError);
    await orm.save([{ id: 'r', total: 3 }]);
    await orm.remove('r');
    await waitFor(() => listeners.removed.length === 1);
    expect(listeners.removing).toEqual(['r']);
    expect(totals(listeners.removed)).toEqual(['r=3']);
    expect(totals(listeners.saved).sort()).toEqual(['r=3', 'z=0']);
    expect(await orm.ids()).toEqual(['a', 'z']);
  });
}

describe.skipIf(skipPostgres)('entity lifecycle events with TypeORM', () => {
  const OrderEntity = new TypeOrmSchema<Order>({
    name: 'Order',
    tableName: 'orders',
    columns: { id: { type: String, primary: true }, total: { type: Number } },
  });
  let dataSource: DataSource;
  const suite = ormOutboxSuite({
    async open(url) {
      dataSource = await openTypeOrm(url, [OrderEntity]);
    },
    close: () => dataSource?.destroy(),
  });
  entityEventsStory(suite, {
    save: (orders, after) =>
      dataSource.transaction(async (manager) => {
        await manager.getRepository(OrderEntity).save(orders);
        await after?.();
      }),
    saveInOutbox: (outbox, order) =>
      outbox.transaction(dataSource, async (manager: DataSource['manager']) => {
        await manager.getRepository(OrderEntity).save(order);
      }),
    async remove(id) {
      const repository = dataSource.getRepository(OrderEntity);
      await repository.remove(await repository.findOneByOrFail({ id }));
    },
    ids: async () => (await dataSource.getRepository(OrderEntity).find()).map((o) => o.id).sort(),
    source: () => dataSource,
  });

  it('names events with eventName, only for the entities given; refuses an unknown source', async () => {
    const seen: string[] = [];
    const eventName = (entity: string, action: string) => `shop.${entity}.${action}`;
    for (const entities of [['Invoice'], ['Order']]) {
      const { app, bus } = await suite.boot();
      bus.on('shop.**', (event) => void seen.push(event.name));
      app.get(EntityEvents).attach(dataSource, { eventName, entities });
      expect(() => app.get(EntityEvents).attach({})).toThrow(InvalidOptionError);
    }
    await dataSource.getRepository(OrderEntity).save({ id: 'named', total: 1 });
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual(['shop.Order.saving', 'shop.Order.saved']);
  });
});

describe('entity lifecycle events: bad input', () => {
  it('refuses attach without the outbox, an unknown source, and a decorator without an entity', async () => {
    const app = await createTestApp({ providers: [] });
    try {
      expect(() => app.get(EntityEvents).attach({})).toThrow(OutboxNotConfiguredError);
      expect(() => app.get(EntityEvents).extendPrisma({} as never)).toThrow(
        OutboxNotConfiguredError,
      );
    } finally {
      await app.close();
    }
    expect(() => AfterSave('' as never)).toThrow(InvalidPatternError);
  });
});

describe.skipIf(skipPostgres)('entity lifecycle events with MikroORM', () => {
  const OrderEntity = new MikroSchema<Order>({
    name: 'Order',
    tableName: 'orders',
    properties: { id: { type: 'string', primary: true }, total: { type: 'number' } },
  });
  let orm: MikroORM;
  const suite = ormOutboxSuite({
    async open(url) {
      orm = await openMikroOrm(url, [OrderEntity]);
    },
    close: () => orm?.close(true),
  });
  entityEventsStory(suite, {
    save: (orders, after) =>
      orm.em.fork().transactional(async (em) => {
        for (const order of orders) em.create(OrderEntity, order);
        await em.flush();
        await after?.();
      }),
    async saveInOutbox(outbox, order) {
      await outbox.transaction(orm.em, async (em: MikroORM['em']) => {
        const found = await em.findOneOrFail(OrderEntity, { id: order.id });
        found.total = order.total;
      });
    },
    async remove(id) {
      const em = orm.em.fork();
      await em.remove(await em.findOneOrFail(OrderEntity, { id })).flush();
    },
    ids: async () => (await orm.em.fork().find(OrderEntity, {})).map((o) => o.id).sort(),
    source: () => orm,
  });
});
