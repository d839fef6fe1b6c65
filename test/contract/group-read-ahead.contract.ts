import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { QueueProbe } from '../fixtures/queue-probe.js';
import type { ContractTarget } from './queue-transport.contract.js';

type Item = { key: string; i: number };

/** Worker concurrency of the queues below. */
const CONCURRENCY = 10;
/** Most jobs a worker holds per take on a grouped queue: its slots and 3 per slot read ahead. */
const BATCH = 4 * CONCURRENCY;

@Injectable()
class AheadListeners {
  constructor(private readonly probe: QueueProbe) {}

  @OnEvent('ahead.item')
  @ShouldQueue({ queue: 'ahead', group: (e: EventEnvelope<Item>) => e.data.key })
  ahead(e: EventEnvelope<Item>, c: ListenerContext) {
    return this.probe.run('ahead', e, c);
  }

  @OnEvent('ahead-rated.item')
  @ShouldQueue({
    queue: 'ahead-rated',
    group: (e: EventEnvelope<Item>) => e.data.key,
    groupRateLimit: { max: 100_000, durationMs: 1000 },
  })
  rated(e: EventEnvelope<Item>, c: ListenerContext) {
    return this.probe.run('rated', e, c);
  }
}

/**
 * Read-ahead on grouped queues: a worker takes more than its free slots in fair order, which
 * widens a group's lag to workers x batch; never on a queue with a group rate limit (a take
 * records the start that the limit counts); jobs given back go to their group's head in order.
 */
export function runGroupReadAheadContract(target: ContractTarget): void {
  describe(`grouped read-ahead contract: ${target.name}`, () => {
    const apps: INestApplicationContext[] = [];
    beforeAll(async () => {
      await target.beforeAll?.();
    });
    afterAll(async () => {
      await target.afterAll?.();
    });
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    async function start(extra: EventsModuleOptions = {}) {
      const base = await target.options();
      const app = await createTestApp(
        { providers: [QueueProbe, AheadListeners] },
        {
          ...base,
          worker: { concurrency: { ahead: CONCURRENCY, 'ahead-rated': CONCURRENCY } },
          ...extra,
        },
      );
      apps.push(app);
      const transport = app.get<QueueTransport>(QUEUE_TRANSPORT);
      // The most jobs each take asked for, per queue.
      const asked = new Map<string, number>();
      const reserve = transport.reserve.bind(transport);
      transport.reserve = (queue, max, signal, options) => {
        asked.set(queue, Math.max(max, asked.get(queue) ?? 0));
        return reserve(queue, max, signal, options);
      };
      return {
        bus: app.get(EventBus),
        probe: app.get(QueueProbe),
        queues: app.get(EventQueues),
        transport,
        asked,
      };
    }

    const keysOf = (probe: QueueProbe, name: string) =>
      probe.callsOf(name).map((c) => (c.event.data as Item).key);

    it('reads ahead of its free slots, and a group that gets jobs lags at most one batch', async () => {
      const { bus, probe, queues, asked } = await start();
      await queues.pause('ahead');
      for (let i = 0; i < 600; i++) await bus.emit('ahead.item', { key: 'A', i });
      await queues.resume('ahead');
      await waitFor(() => probe.callsOf('ahead').length >= 100);
      await bus.emit('ahead.item', { key: 'B', i: 0 });
      const readyAt = probe.callsOf('ahead').length;
      await waitFor(() => probe.callsOf('ahead').length === 601);
      expect(asked.get('ahead')).toBeGreaterThan(CONCURRENCY);
      const keys = keysOf(probe, 'ahead');
      // One worker: B waits at most for what it holds (one batch) before its turn.
      expect(keys.indexOf('B') - readyAt).toBeLessThanOrEqual(BATCH);
      const a = probe.callsOf('ahead').filter((c) => (c.event.data as Item).key === 'A');
      expect(a.map((c) => (c.event.data as Item).i)).toEqual([...Array(600).keys()]);
    });

    it('never reads ahead on a queue with a group rate limit', async () => {
      const { bus, probe, asked } = await start();
      for (let i = 0; i < 300; i++) await bus.emit('ahead-rated.item', { key: `R${i % 3}`, i });
      await waitFor(() => probe.callsOf('rated').length === 300);
      expect(asked.get('ahead-rated')).toBeLessThanOrEqual(CONCURRENCY);
    });

    it('gives jobs that waited too long for a slot back to their group in emit order', async () => {
      // Jobs read ahead wait at most half the visibility timeout for a slot.
      const { bus, probe, queues, transport } = await start({ visibilityTimeout: 400 });
      const released: Promise<void>[] = [];
      const release = transport.release.bind(transport);
      transport.release = (job, delayMs) => {
        const done = release(job, delayMs);
        released.push(done.catch(() => undefined));
        return done;
      };
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      // Every slot hangs once read-ahead is on, so the jobs held ahead wait and go back.
      probe.set('ahead', (e) => ((e.data as Item).i >= 200 ? gate : undefined));
      await queues.pause('ahead');
      for (let i = 0; i < 400; i++) await bus.emit('ahead.item', { key: 'A', i });
      await queues.resume('ahead');
      await waitFor(() => released.length > 1, { message: 'jobs held ahead go back' });
      await Promise.all(released);
      open();
      await waitFor(() => probe.callsOf('ahead').length === 400);
      const order = probe.callsOf('ahead').map((c) => (c.event.data as Item).i);
      expect(order).toEqual([...Array(400).keys()]);
    });
  });
}
