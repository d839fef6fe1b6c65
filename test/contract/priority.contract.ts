import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { QueueProbe } from '../fixtures/queue-probe.js';
import type { ContractTarget } from './queue-transport.contract.js';

/** Aging period of `aging.low` (ms): small, so that a test sees it lift a job. */
const AGING_MS = 60;

@Injectable()
class PriorityListeners {
  constructor(private readonly probe: QueueProbe) {}

  @OnEvent('prio.job')
  @ShouldQueue({ queue: 'prio' })
  job(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('prio', event, context);
  }

  @OnEvent('prio.flaky')
  @ShouldQueue({ queue: 'prio', tries: 2, priority: 3 })
  flaky(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('prio', event, context);
  }

  @OnEvent('aging.low')
  @ShouldQueue({ queue: 'aging', priority: -1, priorityAgingMs: AGING_MS })
  low(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('aging', event, context);
  }

  @OnEvent('aging.high')
  @ShouldQueue({ queue: 'aging', priority: 1 })
  high(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('aging', event, context);
  }
}

/** What the calls of a listener carried, in start order. */
function tags(probe: QueueProbe, listener: string): string[] {
  return probe.callsOf(listener).map((c) => (c.event.data as { tag: string }).tag);
}

/**
 * Queue priorities on one transport: higher first, emit order within a priority, aging, and
 * the paths a job takes back to a queue (retry, delay) keeping its priority.
 */
export function runPriorityContract(target: ContractTarget): void {
  describe(`priority contract: ${target.name}`, () => {
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

    async function start() {
      const app = await createTestApp(
        { providers: [QueueProbe, PriorityListeners] },
        await target.options(),
      );
      apps.push(app);
      return {
        bus: app.get(EventBus),
        probe: app.get(QueueProbe),
        queues: app.get(EventQueues),
        transport: app.get<{ oldestWaitingAge(queue: string): Promise<number | undefined> }>(
          QUEUE_TRANSPORT,
        ),
      };
    }

    it('starts every higher job before any lower one, each priority in emit order', async () => {
      const { bus, probe, queues } = await start();
      await queues.pause('prio');
      for (let i = 0; i < 100; i++) await bus.emit('prio.job', { tag: `low-${i}` });
      for (let i = 0; i < 100; i++) {
        await bus.emit('prio.job', { tag: `high-${i}` }, { priority: 5 });
      }
      expect((await queues.counts('prio')).waiting).toBe(200);
      // Listed in the order they will start; each found by id.
      const listed = await queues.listJobs('prio', 'waiting', { offset: 99, limit: 2 });
      expect(listed.map((job) => (job.payload?.data as { tag: string }).tag)).toEqual([
        'high-99',
        'low-0',
      ]);
      expect(await queues.getJob('prio', listed[0].id)).toMatchObject({ state: 'waiting' });
      await queues.resume('prio');
      await waitFor(() => probe.callsOf('prio').length === 200);
      expect(probe.maxRunning('prio')).toBe(1);
      expect(tags(probe, 'prio')).toEqual([
        ...Array.from({ length: 100 }, (_, i) => `high-${i}`),
        ...Array.from({ length: 100 }, (_, i) => `low-${i}`),
      ]);
    });

    it('orders several priorities, negative ones last, equal ones in emit order', async () => {
      const { bus, probe, queues } = await start();
      await queues.pause('prio');
      const levels = [0, -3, 7, 2, -3, 7, 0, 2, -10, 10];
      for (const [i, priority] of levels.entries()) {
        await bus.emit('prio.job', { tag: `${priority}/${i}` }, { priority });
      }
      await queues.resume('prio');
      await waitFor(() => probe.callsOf('prio').length === levels.length);
      expect(tags(probe, 'prio')).toEqual([
        '10/9',
        '7/2',
        '7/5',
        '2/3',
        '2/7',
        '0/0',
        '0/6',
        '-3/1',
        '-3/4',
        '-10/8',
      ]);
    });

    it('keeps emit order within a level for jobs stored before any worker read the queue', async () => {
      const options = await target.options();
      // Two processes share the queue only on a shared transport.
      if (options.redis === undefined) return;
      const producer = await createTestApp(
        { providers: [QueueProbe, PriorityListeners] },
        { ...options, worker: false },
      );
      apps.push(producer);
      const bus = producer.get(EventBus);
      // 0/0 goes to the stream (no levels yet), before the consumer group exists.
      const levels = [0, -3, 7, 0];
      for (const [i, priority] of levels.entries()) {
        await bus.emit('prio.job', { tag: `${priority}/${i}` }, { priority });
      }
      const worker = await createTestApp({ providers: [QueueProbe, PriorityListeners] }, options);
      apps.push(worker);
      const probe = worker.get(QueueProbe);
      await waitFor(() => probe.callsOf('prio').length === levels.length);
      expect(tags(probe, 'prio')).toEqual(['7/2', '0/0', '0/3', '-3/1']);
    });

    it('orders the jobs of one emitMany by priority, into an empty queue', async () => {
      const { bus, probe, queues } = await start();
      await queues.pause('prio');
      await bus.emitMany(
        [1, 5, 3, 5, 2].map((priority, i) => ({
          name: 'prio.job',
          data: { tag: `${priority}/${i}` },
          options: { priority },
        })),
      );
      await queues.resume('prio');
      await waitFor(() => probe.callsOf('prio').length === 5);
      expect(tags(probe, 'prio')).toEqual(['5/1', '5/3', '3/2', '2/4', '1/0']);
    });

    it('removes matching prioritized jobs (cancelOn) and keeps the others in order', async () => {
      const app = await createTestApp({}, { ...(await target.options()), worker: false });
      apps.push(app);
      const transport = app.get<QueueTransport>(QUEUE_TRANSPORT);
      const job = (id: string, tag: string, priority: number) => ({
        id,
        queue: 'removal',
        listener: 'L',
        payload: JSON.stringify({ tag }),
        delayMs: 0,
        priority,
      });
      // One at a time: after the first, the queue holds a job, so the next ones wait in levels.
      for (const [id, tag, priority] of [
        ['a', 'x', 0],
        ['b', 'x', 3],
        ['c', 'y', 3],
        ['d', 'x', -2],
        ['e', 'y', -2],
      ] as const) {
        await transport.enqueue([job(id, tag, priority)]);
      }
      const isX = (payload: string): boolean =>
        (JSON.parse(payload) as { tag: string }).tag === 'x';
      expect(await transport.removeMatching('removal', 'L', isX)).toEqual({
        removed: 3,
        running: [],
      });
      expect((await transport.counts('removal')).waiting).toBe(2);
      const controller = new AbortController();
      const taken = await transport.reserve('removal', 5, controller.signal);
      expect(taken.map((j) => j.id)).toEqual(['c', 'e']);
      for (const j of taken) await transport.ack(j);
      controller.abort();
    });

    it('reports how long the oldest prioritized job has waited', async () => {
      const { bus, queues, transport } = await start();
      await queues.pause('prio');
      const storedAt = Date.now();
      await bus.emit('prio.job', { tag: 'high' }, { priority: 3 });
      await waitFor(async () => ((await transport.oldestWaitingAge('prio')) ?? -1) >= 30);
      expect(Date.now() - storedAt).toBeGreaterThanOrEqual(30);
    });

    it('puts a delayed job in its priority when it becomes due', async () => {
      const { bus, probe, queues } = await start();
      await queues.pause('prio');
      const storedAt = Date.now();
      await bus.emit('prio.job', { tag: 'high' }, { priority: 4, delay: 100 });
      for (let i = 0; i < 5; i++) await bus.emit('prio.job', { tag: `low-${i}` });
      // Due by now (a paused Redis queue promotes it when its worker reads again).
      await waitFor(() => Date.now() - storedAt > 150);
      await queues.resume('prio');
      await waitFor(() => probe.callsOf('prio').length === 6);
      expect(tags(probe, 'prio')[0]).toBe('high');
    });

    it('retries a failed job in its own priority', async () => {
      const { bus, probe, queues } = await start();
      probe.set('prio', async (event, context) => {
        if ((event.data as { tag: string }).tag !== 'flaky' || context.attempt > 1) return;
        // Lower jobs are stored (the queue paused, so none is read ahead) before it fails.
        await queues.pause('prio');
        for (let i = 0; i < 5; i++) await bus.emit('prio.job', { tag: `low-${i}` });
        throw new Error('first attempt fails');
      });
      await bus.emit('prio.flaky', { tag: 'flaky' });
      await waitFor(async () => (await queues.counts('prio')).waiting === 6);
      await queues.resume('prio');
      await waitFor(() => probe.callsOf('prio').length === 7);
      expect(tags(probe, 'prio').slice(0, 2)).toEqual(['flaky', 'flaky']);
    });

    it('retries a dead job at the priority it died with', async () => {
      const { bus, probe, queues } = await start();
      let isFailing = true;
      probe.set('prio', (event) => {
        if (isFailing && (event.data as { tag: string }).tag === 'doomed') {
          throw new Error('fails until retried from the dead letters');
        }
      });
      // prio.flaky runs at priority 3, with 2 tries.
      await bus.emit('prio.flaky', { tag: 'doomed' });
      await waitFor(async () => (await queues.counts('prio')).dead === 1);
      const [dead] = await queues.listDead('prio');
      expect(dead).toMatchObject({ priority: 3 });
      isFailing = false;
      await queues.pause('prio');
      for (let i = 0; i < 5; i++) await bus.emit('prio.job', { tag: `low-${i}` });
      expect(await queues.retryDead('prio', dead.id)).toBe(1);
      await waitFor(async () => (await queues.counts('prio')).waiting === 6);
      const before = probe.callsOf('prio').length;
      await queues.resume('prio');
      await waitFor(() => probe.callsOf('prio').length === before + 6);
      expect(tags(probe, 'prio').slice(before)).toEqual([
        'doomed',
        ...Array.from({ length: 5 }, (_, i) => `low-${i}`),
      ]);
    });

    it('retries every dead job of a queue at its own priority', async () => {
      const { bus, probe, queues } = await start();
      let isFailing = true;
      probe.set('prio', () => {
        if (isFailing) throw new Error('fails until retried from the dead letters');
      });
      // Each dies before the next is emitted: they die in emit order, not in priority order.
      const emits = [
        () => bus.emit('prio.job', { tag: 'plain' }),
        () => bus.emit('prio.job', { tag: 'low' }, { priority: -2 }),
        () => bus.emit('prio.flaky', { tag: 'high' }),
        () => bus.emit('prio.job', { tag: 'top' }, { priority: 8 }),
      ];
      for (const [i, emit] of emits.entries()) {
        await emit();
        await waitFor(async () => (await queues.counts('prio')).dead === i + 1);
      }
      isFailing = false;
      await queues.pause('prio');
      const before = probe.callsOf('prio').length;
      expect(await queues.retryDead('prio', 'all')).toBe(4);
      await waitFor(async () => (await queues.counts('prio')).waiting === 4);
      await queues.resume('prio');
      await waitFor(() => probe.callsOf('prio').length === before + 4);
      expect(tags(probe, 'prio').slice(before)).toEqual(['top', 'high', 'plain', 'low']);
    });

    it('lifts a waiting job one level per priorityAgingMs, so that it cannot starve', async () => {
      const { bus, probe, queues } = await start();
      // Each higher job runs long enough for the low one to age past their priority.
      probe.set('aging', () => new Promise((resolve) => setTimeout(resolve, AGING_MS / 2)));
      await queues.pause('aging');
      const storedAt = Date.now();
      await bus.emit('aging.low', { tag: 'low' });
      for (let i = 0; i < 20; i++) await bus.emit('aging.high', { tag: `high-${i}` });
      await queues.resume('aging');
      await waitFor(() => probe.callsOf('aging').length === 21, { timeoutMs: 20_000 });
      const order = tags(probe, 'aging');
      // Without aging it would run last: it started once two periods lifted it from -1 to 1.
      expect(order.indexOf('low')).toBeLessThan(20);
      const low = probe.callsOf('aging')[order.indexOf('low')];
      expect(low.at - storedAt).toBeGreaterThanOrEqual(2 * AGING_MS);
    });
  });
}
