import type { INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventFacade,
  EventFacadeUsageError,
  EventQueues,
  InvalidEventNameError,
  InvalidOptionError,
  InvalidPatternError,
  type EventsModuleOptions,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import {
  FacadeAuditListener,
  FacadeOrderListeners,
  FacadeOrdersService,
  OrderShipped,
  facadeProviders,
} from '../fixtures/facade.fixtures.js';

describe('EventFacade: faking dispatch', () => {
  let app: INestApplicationContext | undefined;

  async function start(options: EventsModuleOptions = { worker: false }) {
    app = await createTestApp({ providers: facadeProviders }, options);
    return {
      orders: app.get(FacadeOrdersService),
      listeners: app.get(FacadeOrderListeners),
      audit: app.get(FacadeAuditListener),
      bus: app.get(EventBus),
      queues: app.get(EventQueues),
    };
  }

  afterEach(async () => {
    EventFacade.restore();
    await app?.close();
    app = undefined;
  });

  it('records every emit and runs no listener, in-process or queued', async () => {
    const { orders, listeners, audit, bus, queues } = await start();
    EventFacade.fake();

    await orders.place('o1');
    await expect(orders.pay('o1')).resolves.toEqual([]);
    await orders.ship('o1', 'dhl');
    await expect(bus.until('order.quote', { id: 'o1' })).resolves.toBeUndefined();

    expect(EventFacade.dispatched().map((e) => e.name)).toEqual([
      'order.created',
      'order.paid',
      'order.shipped',
      'order.quote',
    ]);
    expect(listeners.calls).toEqual([]);
    expect(audit.seen).toEqual([]);
    // The queued listener of order.created stored no job.
    expect(await queues.counts('emails')).toMatchObject({ waiting: 0, delayed: 0, active: 0 });

    const [shipped] = EventFacade.dispatched(OrderShipped);
    expect(shipped.data).toBeInstanceOf(OrderShipped);
    expect(shipped.data.carrier).toBe('dhl');
    expect(shipped.metadata.correlationId).toBe(shipped.id);
  });

  it('stores the job when not faked (the control of the test above)', async () => {
    const { orders, listeners, queues } = await start();
    await orders.place('o1');
    expect(await queues.counts('emails')).toMatchObject({ waiting: 1 });
    expect(listeners.names('onCreated')).toEqual(['order.created']);
  });

  it('records delayed emits without scheduling them', async () => {
    const { orders, queues } = await start();
    EventFacade.fake();
    await orders.remind('o1', 60_000);
    EventFacade.assertDispatched('order.reminder', (e) => e.data.id === 'o1');
    // The predicate also gets the emit's options: assert on the delay.
    EventFacade.assertDispatched('order.reminder', (_e, options) => options.delay === 60_000);
    EventFacade.assertNotDispatched('order.reminder', (_e, options) => options.delay === undefined);
    expect(await queues.counts('reminders')).toMatchObject({ waiting: 0, delayed: 0 });

    EventFacade.restore();
    await orders.remind('o2', 60_000);
    expect(await queues.counts('reminders')).toMatchObject({ delayed: 1 });
  });

  it('fakes only the listed names and classes; the others run and are recorded too', async () => {
    const { orders, listeners, audit } = await start();
    EventFacade.fake(['order.created', OrderShipped]);

    await orders.place('o1');
    await orders.ship('o1');
    // The audit listener (priority 10) answers first, with undefined.
    await expect(orders.pay('o1')).resolves.toEqual([undefined, 'paid:o1']);

    expect(listeners.names('onCreated')).toEqual([]);
    expect(listeners.names('onShipped')).toEqual([]);
    expect(listeners.names('onPaid')).toEqual(['order.paid']);
    expect(audit.seen).toEqual(['order.paid']);
    EventFacade.assertDispatched('order.created');
    EventFacade.assertDispatched(OrderShipped, (e) => e.data.orderId === 'o1');
    EventFacade.assertDispatchedTimes('order.paid', 1);
  });

  it('accepts wildcard patterns in the fake list', async () => {
    const { orders, listeners, bus } = await start();
    const invoices: string[] = [];
    bus.on('invoice.sent', (e) => void invoices.push(e.name));
    EventFacade.fake(['order.*']);

    await orders.place('o1');
    await orders.ship('o1');
    await bus.emit('invoice.sent', { id: 'i1' });

    expect(listeners.calls).toEqual([]);
    expect(invoices).toEqual(['invoice.sent']);
    EventFacade.assertDispatchedTimes('order.*', 2);
    EventFacade.assertDispatched('invoice.sent');
  });

  it('puts the real dispatch back on restore()', async () => {
    const { orders, listeners } = await start({ worker: true });
    EventFacade.fake();
    await orders.place('o1');
    EventFacade.restore();

    await orders.place('o2');
    await waitFor(() => listeners.names('sendConfirmation').length === 1);
    expect(
      listeners.calls.map((c) => `${c.listener}:${(c.event.data as { id: string }).id}`),
    ).toEqual(['onCreated:o2', 'sendConfirmation:o2']);
    expect(() => EventFacade.assertDispatched('order.created')).toThrow(EventFacadeUsageError);
  });

  it('starts afresh when fake() is called again', async () => {
    const { orders } = await start();
    EventFacade.fake();
    await orders.place('o1');
    EventFacade.fake(['order.paid']);
    EventFacade.assertNothingDispatched();
    await orders.place('o2');
    EventFacade.assertDispatched('order.created', (e) => e.data.id === 'o2');
    EventFacade.assertNotDispatched('order.created', (e) => e.data.id === 'o1');
  });

  it('keeps the records readable after the application closed', async () => {
    const { orders } = await start();
    EventFacade.fake();
    await orders.place('o1');
    await app?.close();
    app = undefined;
    EventFacade.assertDispatchedTimes('order.created', 1);
  });

  it('refuses bad fake() arguments with typed errors', async () => {
    await start();
    expect(() => EventFacade.fake([])).toThrow(InvalidOptionError);
    expect(() => EventFacade.fake(['order.*x'])).toThrow(InvalidPatternError);
    class Unnamed {}
    expect(() => EventFacade.fake([Unnamed])).toThrow(InvalidEventNameError);
    expect(() => EventFacade.fake(42 as never)).toThrow(/a Nest application, TestingModule/);
    expect(() => EventFacade.assertDispatchedTimes('order.created', -1)).toThrow(
      EventFacadeUsageError,
    );
    EventFacade.fake();
    expect(() => EventFacade.assertDispatchedTimes('order.created', -1)).toThrow(
      InvalidOptionError,
    );
    expect(() => EventFacade.assertDispatched('order.**.x.')).toThrow(InvalidPatternError);
  });
});
