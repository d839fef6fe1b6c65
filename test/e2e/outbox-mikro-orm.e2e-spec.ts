import { EntitySchema, type EntityManager, type MikroORM } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';
import { InvalidTransactionError } from 'nestjs-events';
import { openMikroOrm } from '../support/orm-sources.js';
import { idsOf as ids, ormOutboxSuite } from '../support/outbox-orm.js';
import { skipPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';

interface Order {
  id: string;
}
const OrderEntity = new EntitySchema<Order>({
  name: 'Order',
  tableName: 'orders',
  properties: { id: { type: 'string', primary: true } },
});

describe.skipIf(skipPostgres)('transactional outbox with MikroORM', () => {
  let orm: MikroORM;
  const suite = ormOutboxSuite({
    async open(url) {
      orm = await openMikroOrm(url, [OrderEntity]);
    },
    close: () => orm?.close(true),
  });
  const orderIds = async () => (await orm.em.fork().find(OrderEntity, {})).map((o) => o.id).sort();

  it("joins em.transactional: delivered after MikroORM's flush and commit, nothing after its rollback", async () => {
    const { bus, outbox, orders } = await suite.boot();
    await outbox.transaction(orm.em, async (em: EntityManager) => {
      em.create(OrderEntity, { id: 'm1' });
      await bus.emit('order.created', { id: 'm1' });
      expect(orders.inProcess).toHaveLength(0);
    });
    expect(ids(orders.inProcess)).toEqual(['m1']);
    await expect(
      outbox.transaction(orm, async (em: EntityManager) => {
        em.create(OrderEntity, { id: 'm2' });
        await em.flush();
        await bus.emit('order.created', { id: 'm2' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await waitFor(() => orders.queued.length === 1);
    expect(await orderIds()).toEqual(['m1']);
    expect(ids(orders.queued)).toEqual(['m1']);
    expect(ids(orders.inProcess)).toEqual(['m1']);
  });

  it('writes through the EntityManager of a transaction the app started', async () => {
    const { bus, orders } = await suite.boot();
    await orm.em
      .fork()
      .transactional(async (em) => {
        em.create(OrderEntity, { id: 'm3' });
        await bus.emit('order.created', { id: 'm3' }, { transaction: em });
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    await orm.em.fork().transactional(async (em) => {
      em.create(OrderEntity, { id: 'm4' });
      await bus.emit('order.created', { id: 'm4' }, { transaction: em });
    });
    // The writer's relay takes it on the commit's notification.
    await waitFor(() => orders.inProcess.length === 1 && orders.queued.length === 1);
    expect(ids(orders.inProcess)).toEqual(['m4']);
    expect(ids(orders.queued)).toEqual(['m4']);
    expect(await orderIds()).toEqual(['m1', 'm4']);
  });

  it('refuses an EntityManager outside any transaction', async () => {
    const { bus } = await suite.boot();
    await expect(
      bus.emit('order.created', { id: 'm5' }, { transaction: orm.em.fork() }),
    ).rejects.toBeInstanceOf(InvalidTransactionError);
  });
});
