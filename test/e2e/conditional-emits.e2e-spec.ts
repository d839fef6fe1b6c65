import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  EventMetrics,
  InvalidOptionError,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import { transportApps } from '../support/transport-apps.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class Orders {
  readonly seen: string[] = [];
  readonly queued: string[] = [];
  readonly minTotal = 100;

  @OnEvent('order.placed')
  onPlaced(event: EventEnvelope<{ id: string; total: number }>): void {
    this.seen.push(event.data.id);
  }

  @OnEvent('order.placed')
  @ShouldQueue({
    queue: 'large-orders',
    when(this: Orders, event: EventEnvelope<{ total: number }>) {
      return event.data.total >= this.minTotal;
    },
  })
  onLarge(event: EventEnvelope<{ id: string; total: number }>): void {
    this.queued.push(event.data.id);
  }
}

describe('conditional emits', () => {
  const apps = transportApps('memory', 'conditional');

  it('emitIf and emitUnless emit only as their condition says, and resolve whether they did', async () => {
    const app = await apps.start({ providers: [Orders] });
    const bus = app.get(EventBus);
    const orders = app.get(Orders);
    expect(await bus.emitIf(true, 'order.placed', { id: 'a', total: 1 })).toBe(true);
    expect(await bus.emitIf(false, 'order.placed', { id: 'b', total: 1 })).toBe(false);
    expect(await bus.emitIf(async () => true, 'order.placed', { id: 'c', total: 1 })).toBe(true);
    expect(await bus.emitIf(() => false, 'order.placed', { id: 'd', total: 1 })).toBe(false);
    expect(await bus.emitUnless(true, 'order.placed', { id: 'e', total: 1 })).toBe(false);
    expect(await bus.emitUnless(async () => false, 'order.placed', { id: 'f', total: 1 })).toBe(
      true,
    );
    expect(orders.seen).toEqual(['a', 'c', 'f']);
    await expect(
      bus.emitIf(() => Promise.reject(new Error('no answer')), 'order.placed', {
        id: 'g',
        total: 1,
      }),
    ).rejects.toThrow('no answer');
    expect(orders.seen).toEqual(['a', 'c', 'f']);
  });

  it('@ShouldQueue({ when }) queues a job only for the events it accepts, with the provider as this', async () => {
    const app = await apps.start({ providers: [Orders] });
    const bus = app.get(EventBus);
    const orders = app.get(Orders);
    await bus.emit('order.placed', { id: 'small', total: 5 });
    await bus.emit('order.placed', { id: 'big', total: 500 });
    await bus.emit('order.placed', { id: 'edge', total: 100 });
    await waitFor(() => orders.queued.length === 2);
    expect(orders.seen).toEqual(['small', 'big', 'edge']);
    expect((await bus.listeners('order.placed')).length).toBe(2);
    await bus.emit('order.placed', { id: 'last', total: 1000 });
    await waitFor(() => orders.queued.length === 3);
    expect(orders.queued.sort()).toEqual(['big', 'edge', 'last']);
  });

  it('counts the jobs when declined per listener and queue, in the snapshot and in Prometheus', async () => {
    const registry = new Registry();
    const app = await apps.start(
      { providers: [Orders] },
      { metrics: { prometheus: { registry } } },
    );
    const bus = app.get(EventBus);
    await bus.emit('order.placed', { id: 'small', total: 5 });
    await bus.emitMany([
      { name: 'order.placed', data: { id: 'tiny', total: 1 } },
      { name: 'order.placed', data: { id: 'big', total: 500 } },
    ]);
    await waitFor(() => app.get(Orders).queued.length === 1);
    const snapshot = app.get(EventMetrics).snapshot();
    expect(snapshot.listeners['Orders.onLarge']).toMatchObject({ skipped: 2, handled: 1 });
    expect(snapshot.queues['large-orders']).toMatchObject({ skipped: 2, handled: 1 });
    const skipped = (await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'nestjs_events_listener_skipped_total',
    );
    expect(skipped?.values).toEqual([
      { labels: { listener: 'Orders.onLarge', queue: 'large-orders' }, value: 2 },
    ]);
  });

  it('refuses a when that is not a function', () => {
    expect(() => ShouldQueue({ when: true as never })(class X {})).toThrow(InvalidOptionError);
  });
});
