import { EntitySchema, type DataSource, type EntityManager } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { InvalidTransactionError } from 'nestjs-events';
import { openTypeOrm } from '../support/orm-sources.js';
import { idsOf as ids, ormOutboxSuite } from '../support/outbox-orm.js';
import { skipPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { AuditListener } from '../fixtures/outbox.fixtures.js';

interface Order {
  id: string;
}
const OrderEntity = new EntitySchema<Order>({
  name: 'Order',
  tableName: 'orders',
  columns: { id: { type: String, primary: true } },
});

describe.skipIf(skipPostgres)('transactional outbox with TypeORM', () => {
  let dataSource: DataSource;
  const suite = ormOutboxSuite({
    async open(url) {
      dataSource = await openTypeOrm(url, [OrderEntity]);
      await dataSource.query('CREATE TABLE audit (order_id text NOT NULL)');
    },
    close: () => dataSource?.destroy(),
  });
  const boot = () => suite.boot([AuditListener]);
  const orderIds = async () =>
    (await dataSource.getRepository(OrderEntity).find()).map((o) => o.id).sort();

  it("joins DataSource.transaction: delivered after the ORM's commit, nothing after its rollback", async () => {
    const { bus, outbox, orders } = await boot();
    await outbox.transaction(dataSource, async (manager: EntityManager) => {
      await manager.getRepository(OrderEntity).insert({ id: 't1' });
      await bus.emit('order.created', { id: 't1' });
      expect(orders.inProcess).toHaveLength(0);
    });
    expect(ids(orders.inProcess)).toEqual(['t1']);
    await expect(
      outbox.transaction(dataSource, async (manager: EntityManager) => {
        await manager.getRepository(OrderEntity).insert({ id: 't2' });
        await bus.emit('order.created', { id: 't2' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await waitFor(() => orders.queued.length === 1);
    expect(await orderIds()).toEqual(['t1']);
    expect(ids(orders.queued)).toEqual(['t1']);
    expect(ids(orders.inProcess)).toEqual(['t1']);
  });

  it('writes through the EntityManager of a transaction the app started', async () => {
    const { bus, orders } = await boot();
    await dataSource
      .transaction(async (manager) => {
        await bus.emit('order.created', { id: 't3' }, { transaction: manager });
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    await dataSource.transaction(async (manager) => {
      await manager.getRepository(OrderEntity).insert({ id: 't4' });
      await bus.emit('order.created', { id: 't4' }, { transaction: manager });
    });
    // Afterwards, the writer's relay takes it on the commit's notification.
    await waitFor(() => orders.inProcess.length === 1 && orders.queued.length === 1);
    expect(ids(orders.inProcess)).toEqual(['t4']);
    // An afterCommit: false listener received the EntityManager and wrote in its transaction.
    expect(
      (await dataSource.query(`SELECT order_id FROM audit WHERE order_id IN ('t3', 't4')`)) as {
        order_id: string;
      }[],
    ).toEqual([{ order_id: 't4' }]);
  });

  it('refuses an EntityManager outside any transaction', async () => {
    const { bus } = await boot();
    await expect(
      bus.emit('order.created', { id: 't5' }, { transaction: dataSource.manager }),
    ).rejects.toBeInstanceOf(InvalidTransactionError);
  });
});
