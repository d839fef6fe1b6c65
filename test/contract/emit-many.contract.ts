import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventFacade,
  EventName,
  EventQueues,
  InvalidEventNameError,
  InvalidOptionError,
  OnEvent,
  ShouldQueue,
  UnserializablePayloadError,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
  type QueueCounts,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { QueueProbe } from '../fixtures/queue-probe.js';
import type { ContractTarget } from './queue-transport.contract.js';

@EventName('shipment.bulk')
class BulkShipped {
  constructor(readonly orderId: string) {}

  label(): string {
    return `shipped ${this.orderId}`;
  }
}

@Injectable()
class BulkListeners {
  /** When set: what the queues held as each in-process call started (worker off). */
  seen: Promise<[QueueCounts, QueueCounts]>[] | undefined;

  constructor(
    private readonly probe: QueueProbe,
    private readonly queues: EventQueues,
  ) {}

  @OnEvent('bulk.*')
  @ShouldQueue({ queue: 'bulk-a' })
  a(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('a', event, context);
  }

  @OnEvent('bulk.two')
  @ShouldQueue({ queue: 'bulk-b' })
  b(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('b', event, context);
  }

  @OnEvent('bulk.*')
  inProcess(event: EventEnvelope, context: ListenerContext) {
    this.seen?.push(Promise.all([this.queues.counts('bulk-a'), this.queues.counts('bulk-b')]));
    void this.probe.run('inProcess', event, context);
  }

  @OnEvent(BulkShipped)
  @ShouldQueue({ queue: 'bulk-a' })
  shipped(event: EventEnvelope<BulkShipped>, context: ListenerContext) {
    return this.probe.run('shipped', event, context);
  }
}

/** `bus.emitMany` on a transport: one batch stored all or none, then in-process listeners. */
export function runEmitManyContract(target: ContractTarget): void {
  describe(`emitMany contract: ${target.name}`, () => {
    const apps: INestApplicationContext[] = [];

    beforeAll(async () => {
      await target.beforeAll?.();
    });
    afterAll(async () => {
      await target.afterAll?.();
    });
    afterEach(async () => {
      EventFacade.restore();
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    async function start(extra: EventsModuleOptions = {}) {
      const base = await target.options();
      const app = await createTestApp(
        { providers: [QueueProbe, BulkListeners] },
        { ...base, ...extra, worker: extra.worker ?? base.worker },
      );
      apps.push(app);
      return {
        bus: app.get(EventBus),
        probe: app.get(QueueProbe),
        queues: app.get(EventQueues),
        listeners: app.get(BulkListeners),
      };
    }

    it('stores every job before any in-process listener runs, then runs them in item order', async () => {
      const { bus, probe, listeners } = await start({ worker: false });
      const seen: Promise<[QueueCounts, QueueCounts]>[] = (listeners.seen = []);
      const items = Array.from({ length: 60 }, (_, i) => ({
        name: i % 3 === 0 ? 'bulk.two' : 'bulk.one',
        data: { i },
      }));
      const envelopes = await bus.emitMany(items);
      expect(envelopes.map((e) => [e.name, (e.data as { i: number }).i])).toEqual(
        items.map((item) => [item.name, item.data.i]),
      );
      expect(new Set(envelopes.map((e) => e.id)).size).toBe(60);
      const calls = probe.callsOf('inProcess');
      expect(calls.map((c) => c.event.id)).toEqual(envelopes.map((e) => e.id));
      // Each in-process call asked for the counts when it started: every job was stored already.
      for (const [a, b] of await Promise.all(seen)) {
        expect(a.waiting).toBe(60);
        expect(b.waiting).toBe(20);
      }
    });

    it('runs the stored jobs with their data, class events rehydrated, in item order', async () => {
      const { bus, probe } = await start({ worker: { concurrency: 1 } });
      await bus.emitMany([
        { name: 'bulk.one', data: { i: 0 } },
        { event: new BulkShipped('o-1') },
        { name: 'bulk.two', data: { i: 2 }, options: { metadata: { tenantId: 't1' } } },
      ]);
      await waitFor(() => probe.callsOf('a').length === 2 && probe.callsOf('b').length === 1);
      await waitFor(() => probe.callsOf('shipped').length === 1);
      expect(probe.callsOf('a').map((c) => c.event.data)).toEqual([{ i: 0 }, { i: 2 }]);
      expect(probe.callsOf('b')[0].event.metadata.tenantId).toBe('t1');
      const shipped = probe.callsOf('shipped')[0].event.data as BulkShipped;
      expect(shipped).toBeInstanceOf(BulkShipped);
      expect(shipped.label()).toBe('shipped o-1');
    });

    it('honours each item’s delay, and stores an item with an id once within the window', async () => {
      const { bus, probe, queues } = await start({ worker: false });
      await bus.emitMany([
        { name: 'bulk.one', data: { i: 0 }, options: { delay: 60_000 } },
        { name: 'bulk.one', data: { i: 1 }, options: { id: 'bulk-fixed' } },
      ]);
      await bus.emitMany([{ name: 'bulk.one', data: { i: 1 }, options: { id: 'bulk-fixed' } }]);
      expect(await queues.counts('bulk-a')).toMatchObject({ waiting: 1, delayed: 1 });
      // The delayed item's in-process listener waits for its delay too.
      expect(probe.callsOf('inProcess').map((c) => c.event.id)).toEqual([
        'bulk-fixed',
        'bulk-fixed',
      ]);
    });

    it('refuses a batch with one bad item with that item’s typed error: nothing stored, nothing run', async () => {
      const { bus, probe, queues } = await start({ worker: false });
      const good = { name: 'bulk.two', data: { i: 0 } };
      await expect(
        bus.emitMany([good, good, { name: 'bulk.two', data: { fn: () => 1 } }]),
      ).rejects.toBeInstanceOf(UnserializablePayloadError);
      await expect(bus.emitMany([good, { name: 'Bad Name!', data: {} }])).rejects.toBeInstanceOf(
        InvalidEventNameError,
      );
      await expect(
        bus.emitMany([good, { name: 'bulk.two', options: { delay: -1 } }]),
      ).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(bus.emitMany([good, 42 as never])).rejects.toThrow(/events\[1\]/);
      await expect(bus.emitMany('bulk.two' as never)).rejects.toBeInstanceOf(InvalidOptionError);
      expect(await queues.counts('bulk-a')).toMatchObject({ waiting: 0, delayed: 0 });
      expect(await queues.counts('bulk-b')).toMatchObject({ waiting: 0, delayed: 0 });
      expect(probe.calls).toEqual([]);
    });

    it('is recorded by EventFacade.fake(), which runs and stores nothing', async () => {
      const { bus, probe, queues } = await start({ worker: false });
      EventFacade.fake();
      await bus.emitMany([{ name: 'bulk.one', data: { i: 1 } }, { event: new BulkShipped('o-2') }]);
      EventFacade.assertDispatched('bulk.one', (e) => (e.data as { i: number }).i === 1);
      EventFacade.assertDispatched(BulkShipped, (e) => e.data.orderId === 'o-2');
      EventFacade.assertDispatchedTimes('bulk.one', 1);
      expect(await queues.counts('bulk-a')).toMatchObject({ waiting: 0 });
      expect(probe.calls).toEqual([]);
    });

    it('resolves at once with an empty list', async () => {
      const { bus } = await start({ worker: false });
      await expect(bus.emitMany([])).resolves.toEqual([]);
    });
  });
}
