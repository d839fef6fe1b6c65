import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventFacade, EventQueues } from 'nestjs-events';
import { AppModule } from './app.module.js';
import { ActivityLog } from './orders/activity.log.js';
import { NotificationListeners } from './orders/notification.listeners.js';
import { OrderShipped } from './orders/order.events.js';
import { OrderListeners } from './orders/order.listeners.js';
import { OrdersService } from './orders/orders.service.js';

// How an application tests its events: fake them, act, assert on what was emitted.
describe('OrdersService events', () => {
  let app: TestingModule;
  let orders: OrdersService;
  let activity: ActivityLog;
  const order = { orderId: 'o-1', customer: 'ada', total: 42.5 };

  beforeEach(async () => {
    app = await Test.createTestingModule({ imports: [AppModule] }).compile();
    await app.init();
    orders = app.get(OrdersService);
    activity = app.get(ActivityLog);
    EventFacade.fake(); // acts on the application that started last
  });

  afterEach(async () => {
    EventFacade.restore();
    await app.close();
  });

  it('announces a placed order, with its tenant, and runs no listener', async () => {
    await orders.placeOrder(order, 'acme');

    EventFacade.assertDispatched(
      'order.created',
      (e) => e.data.orderId === 'o-1' && e.metadata.tenantId === 'acme',
    );
    EventFacade.assertDispatchedTimes('order.created', 1);
    EventFacade.assertNotDispatched('order.paid');
    expect(activity.lines).toEqual([]); // no in-process listener ran
    // No job stored: the running worker would take a stored job at once, but it would still
    // show in one of these counts (active, delayed for its retry, completed...).
    expect(await app.get(EventQueues).counts('emails')).toMatchObject({
      waiting: 0,
      delayed: 0,
      active: 0,
      completed: 0,
      failed: 0,
      dead: 0,
    });
  });

  it('records class events with their instance', async () => {
    await orders.ship('o-1');
    EventFacade.assertDispatched(OrderShipped, (e) => e.data.trackingUrl.endsWith('/ups/o-1'));
    const [shipped] = EventFacade.dispatched(OrderShipped);
    expect(shipped.data).toBeInstanceOf(OrderShipped);
  });

  it('fakes only some events and lets the others run', async () => {
    EventFacade.fake([OrderShipped, 'order.created']);
    await orders.ship('o-1');
    expect(await orders.discountFor('ada')).toBe(10); // not faked: its listener answered

    EventFacade.assertDispatched(OrderShipped);
    EventFacade.assertDispatched('discount.requested', (e) => e.data.customer === 'ada');
    expect(activity.lines).toEqual([]); // the shipping listeners did not run
  });

  it('wires the listeners it expects', () => {
    EventFacade.assertListening('order.created', NotificationListeners, 'sendConfirmation');
    EventFacade.assertListening(OrderShipped, OrderListeners, 'shipped');
    EventFacade.assertListening('order.paid', OrderListeners, 'audit'); // through 'order.*'
  });
});

// Queued listeners for real (no fake): act, then drain the queues instead of polling.
describe('OrdersService queued listeners', () => {
  let app: TestingModule;

  beforeEach(async () => {
    app = await Test.createTestingModule({ imports: [AppModule] }).compile();
    await app.init();
  });

  afterEach(async () => {
    await app.close();
  });

  it('retries the confirmation mail until it is sent and dead-letters the invoice', async () => {
    const orders = app.get(OrdersService);
    await orders.placeOrder({ orderId: 'o-2', customer: 'ada', total: 12 }, 'acme');
    await orders.pay({ orderId: 'o-2', customer: 'ada', total: 12 });
    await app.get(EventQueues).drain(); // every job completed or dead, retries included

    const lines = app.get(ActivityLog).lines;
    expect(lines).toContain('[email] confirmation sent to ada for o-2 (attempt 3, tenant acme)');
    expect(lines).toContain('[invoice] gave up on o-2: invoice service down');
    expect(await app.get(EventQueues).listDead('invoices')).toHaveLength(1);
  });
});
