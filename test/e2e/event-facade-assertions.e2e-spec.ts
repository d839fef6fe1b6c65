import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventAssertionError, EventBus, EventFacade, EventsError } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import {
  FacadeAuditListener,
  FacadeOrderListeners,
  FacadeOrdersService,
  FacadeSilentService,
  OrderRefunded,
  OrderShipped,
  facadeProviders,
} from '../fixtures/facade.fixtures.js';

/** Runs `fn`, expects an EventAssertionError, and returns its message. */
function failure(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EventAssertionError);
    expect(error).toBeInstanceOf(EventsError);
    expect((error as EventAssertionError).code).toBe('EVENTS_ASSERTION_FAILED');
    return (error as Error).message;
  }
  throw new Error('expected the assertion to fail, but it passed');
}

describe('EventFacade assertions', () => {
  let app: INestApplicationContext;
  let orders: FacadeOrdersService;

  beforeAll(async () => {
    app = await createTestApp({ providers: facadeProviders }, { worker: false });
    orders = app.get(FacadeOrdersService);
  });
  afterAll(async () => {
    EventFacade.restore();
    await app.close();
  });
  beforeEach(() => EventFacade.fake());

  it('assertDispatched passes on a name, a class, a pattern, with a predicate', async () => {
    await orders.place('o1', 25);
    await orders.ship('o1');
    EventFacade.assertDispatched('order.created');
    EventFacade.assertDispatched('order.created', (e) => e.data.id === 'o1' && e.data.total === 25);
    EventFacade.assertDispatched<{ id: string }>('order.created', (e) => e.data.id === 'o1');
    EventFacade.assertDispatched(OrderShipped);
    EventFacade.assertDispatched(OrderShipped, (e) => e.data.carrier === 'ups');
    EventFacade.assertDispatched('order.*');
    // Compile-time only: a class event's predicate sees the class, which has no `total`.
    const typeCheck = () =>
      // @ts-expect-error: `total` is not a member of OrderShipped.
      EventFacade.assertDispatched(OrderShipped, (e) => e.data.total === 1);
    expect(typeCheck).toBeTypeOf('function');
  });

  it('assertDispatched fails listing what was dispatched and similar names', async () => {
    await orders.place('o1');
    await orders.place('o2');
    await orders.ship('o1');
    const message = failure(() => EventFacade.assertDispatched('order.create'));
    expect(message).toContain('Expected "order.create" to be dispatched, but it was not.');
    expect(message).toContain('Similar names were: "order.created", "order.shipped".');
    expect(message).toContain('Dispatched while faking (3 in all):');
    expect(message).toContain('- order.created × 2');
    expect(message).toContain('- order.shipped × 1');

    expect(failure(() => EventFacade.assertDispatched(OrderRefunded))).toContain(
      'Expected "order.refunded" (OrderRefunded) to be dispatched, but it was not.',
    );
  });

  it('assertDispatched with a predicate shows the data of the near matches', async () => {
    await orders.place('o1', 10);
    await orders.place('o2', 20);
    const message = failure(() =>
      EventFacade.assertDispatched('order.created', (e) => e.data.id === 'o3'),
    );
    expect(message).toContain(
      'Expected "order.created" to be dispatched matching the predicate, but none of its 2 dispatches matched:',
    );
    expect(message).toContain('#1 order.created {"id":"o1","total":10}');
    expect(message).toContain('#2 order.created {"id":"o2","total":20}');

    await orders.ship('o1', 'dhl');
    expect(
      failure(() => EventFacade.assertDispatched(OrderShipped, (e) => e.data.carrier === 'ups')),
    ).toContain('#1 order.shipped OrderShipped {"orderId":"o1","carrier":"dhl"}');
    expect(failure(() => EventFacade.assertDispatched('order.paid', () => true))).toContain(
      'but it was not dispatched at all',
    );
  });

  it('assertDispatchedTimes counts exactly', async () => {
    EventFacade.assertDispatchedTimes('order.created', 0);
    await orders.place('o1');
    await orders.place('o2');
    EventFacade.assertDispatchedTimes('order.created', 2);
    EventFacade.assertDispatchedTimes(OrderShipped, 0);

    const message = failure(() => EventFacade.assertDispatchedTimes('order.created', 1));
    expect(message).toContain(
      'Expected "order.created" to be dispatched 1 time, but it was dispatched 2 times:',
    );
    expect(message).toContain('#2 order.created {"id":"o2","total":10}');
    expect(failure(() => EventFacade.assertDispatchedTimes(OrderShipped, 3))).toContain(
      'Expected "order.shipped" (OrderShipped) to be dispatched 3 times, but it was dispatched 0 times.',
    );
  });

  it('assertNotDispatched passes on absent names and fails with the offending data', async () => {
    await orders.place('o1');
    EventFacade.assertNotDispatched('order.cancelled');
    EventFacade.assertNotDispatched(OrderShipped);
    EventFacade.assertNotDispatched('order.created', (e) => e.data.id === 'o9');

    expect(failure(() => EventFacade.assertNotDispatched('order.created'))).toContain(
      'Expected "order.created" not to be dispatched, but it was dispatched 1 time:\n    #1 order.created {"id":"o1","total":10}',
    );
    expect(
      failure(() => EventFacade.assertNotDispatched('order.created', (e) => e.data.id === 'o1')),
    ).toContain(
      'Expected "order.created" not to be dispatched matching the predicate, but it was dispatched 1 time matching the predicate:',
    );
    expect(failure(() => EventFacade.assertNotDispatched('order.*'))).toContain(
      'Expected an event matching "order.*" not to be dispatched',
    );
  });

  it('assertNothingDispatched passes when quiet and fails listing everything', async () => {
    EventFacade.assertNothingDispatched();
    await orders.place('o1');
    await orders.pay('o1');
    const message = failure(() => EventFacade.assertNothingDispatched());
    expect(message).toContain('Expected nothing to be dispatched, but 2 events were:');
    expect(message).toContain('#2 order.paid {"id":"o1"}');
    expect(message).toContain('- order.created × 1\n  - order.paid × 1');
  });

  it('marks faked and real events in the messages of a partial fake', async () => {
    EventFacade.fake(['order.created']);
    await orders.place('o1');
    await orders.pay('o1');
    const message = failure(() => EventFacade.assertDispatched('order.shipped'));
    expect(message).toContain('- order.created × 1 (faked)');
    expect(message).toContain('- order.paid × 1 (ran, not faked)');
    expect(message).toContain('Faking only: "order.created".');
  });

  it('shortens large data and lists at most five events', async () => {
    const bus = app.get(EventBus);
    for (let i = 0; i < 7; i++) await bus.emit('bulk.item', { i, blob: 'x'.repeat(500) });
    const message = failure(() => EventFacade.assertNothingDispatched());
    expect(message).toContain('... and 2 more');
    expect(message).not.toContain('x'.repeat(300));
    expect(message).toContain('- bulk.item × 7');
  });

  it('dispatched() returns the envelopes for custom checks', async () => {
    await orders.place('o1');
    await orders.ship('o1');
    const created = EventFacade.dispatched<{ id: string; total: number }>('order.created');
    expect(created.map((e) => e.data.total)).toEqual([10]);
    expect(EventFacade.dispatched(OrderShipped)[0].data.orderId).toBe('o1');
    expect(EventFacade.dispatched('order.*')).toHaveLength(2);
    expect(EventFacade.dispatched('nothing.here')).toEqual([]);
  });

  it('assertListening checks classes, methods, wildcards and queued listeners', () => {
    EventFacade.assertListening('order.created', FacadeOrderListeners);
    EventFacade.assertListening('order.created', FacadeOrderListeners, 'onCreated');
    EventFacade.assertListening('order.created', FacadeOrderListeners, 'sendConfirmation');
    EventFacade.assertListening(OrderShipped, FacadeOrderListeners, 'onShipped');
    EventFacade.assertListening('order.created', FacadeAuditListener, 'audit');
    EventFacade.assertListening('order.*', FacadeAuditListener);

    const wrongMethod = failure(() =>
      EventFacade.assertListening('order.paid', FacadeOrderListeners, 'onCreated'),
    );
    expect(wrongMethod).toContain(
      'Expected FacadeOrderListeners.onCreated to listen to "order.paid", but it does not.',
    );
    expect(wrongMethod).toContain(
      'Listeners of "order.paid": FacadeAuditListener.audit (order.*), FacadeOrderListeners.onPaid (order.paid).',
    );
    expect(wrongMethod).toContain('FacadeOrderListeners listens to: onCreated -> order.created;');
    expect(wrongMethod).toContain('sendConfirmation -> order.created');

    expect(
      failure(() => EventFacade.assertListening('order.created', FacadeSilentService)),
    ).toContain(
      "FacadeSilentService has no @OnEvent listener in this application (is it in a module's providers?)",
    );
    expect(
      failure(() => EventFacade.assertListening(OrderRefunded, FacadeOrderListeners)),
    ).toContain(
      'Listeners of "order.refunded" (OrderRefunded): FacadeAuditListener.audit (order.*).',
    );
    expect(
      failure(() => EventFacade.assertListening('invoice.voided', FacadeAuditListener)),
    ).toContain('Listeners of "invoice.voided": none.');
    expect(
      failure(() => EventFacade.assertListening('order.paid', FacadeOrderListeners, 'onPayed')),
    ).toContain('FacadeOrderListeners has no method "onPayed"');
    expect(
      failure(() =>
        EventFacade.assertListening('order.reminder', FacadeOrderListeners, 'sendConfirmation'),
      ),
    ).toContain('FacadeOrderListeners.sendReminder (order.reminder, queued on "reminders")');
  });

  it('assertListening works without fake()', () => {
    EventFacade.restore();
    EventFacade.assertListening('order.paid', FacadeOrderListeners, 'onPaid');
  });
});
