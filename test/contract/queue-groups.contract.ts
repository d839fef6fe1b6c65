import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  InvalidGroupError,
  InvalidOptionError,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { QueueProbe } from '../fixtures/queue-probe.js';
import type { ContractTarget } from './queue-transport.contract.js';

type Item = { key: string; i: number; fail?: boolean };

@Injectable()
class GroupListeners {
  /** Group of each start, in start order, per listener. */
  readonly starts = new Map<string, { group: string; i: number; attempt: number; at: number }[]>();
  private readonly running = new Map<string, number>();
  readonly maxRunning = new Map<string, number>();

  constructor(private readonly probe: QueueProbe) {}

  private async record(name: string, group: string, e: EventEnvelope<Item>, c: ListenerContext) {
    const list = this.starts.get(name) ?? [];
    list.push({ group, i: e.data.i, attempt: c.attempt, at: Date.now() });
    this.starts.set(name, list);
    const key = `${name}/${group}`;
    const now = (this.running.get(key) ?? 0) + 1;
    this.running.set(key, now);
    this.maxRunning.set(key, Math.max(now, this.maxRunning.get(key) ?? 0));
    try {
      return await this.probe.run(name, e, c);
    } finally {
      this.running.set(key, (this.running.get(key) ?? 1) - 1);
    }
  }

  of(name: string, group?: string) {
    return (this.starts.get(name) ?? []).filter((s) => group === undefined || s.group === group);
  }

  @OnEvent('fair.item')
  @ShouldQueue({ queue: 'fair', group: 'tenant' })
  fair(e: EventEnvelope<Item>, c: ListenerContext) {
    return this.record('fair', e.metadata.tenant ?? 'default', e, c);
  }

  @OnEvent('weighted.item')
  @ShouldQueue({
    queue: 'weighted',
    group: (e: EventEnvelope<Item>) => e.data.key,
    groupWeight: (g: string) => (g === 'H' ? 3 : 1),
  })
  weighted(e: EventEnvelope<Item>, c: ListenerContext) {
    return this.record('weighted', e.data.key, e, c);
  }

  @OnEvent('serial.item')
  @ShouldQueue({
    queue: 'serial',
    group: (e: EventEnvelope<Item>) => e.data.key,
    groupConcurrency: 1,
    tries: 3,
    backoff: 80,
  })
  serial(e: EventEnvelope<Item>, c: ListenerContext) {
    return this.record('serial', e.data.key, e, c);
  }

  @OnEvent('pair.item')
  @ShouldQueue({
    queue: 'pair',
    group: (e: EventEnvelope<Item>) => e.data.key,
    groupConcurrency: 2,
  })
  pair(e: EventEnvelope<Item>, c: ListenerContext) {
    return this.record('pair', e.data.key, e, c);
  }

  @OnEvent('rated.item')
  @ShouldQueue({
    queue: 'rated',
    group: (e: EventEnvelope<Item>) => e.data.key,
    groupRateLimit: { max: 2, durationMs: 1000 },
  })
  rated(e: EventEnvelope<Item>, c: ListenerContext) {
    return this.record('rated', e.data.key, e, c);
  }

  @OnEvent('bad.item')
  @ShouldQueue({
    queue: 'bad',
    group: (e: EventEnvelope<{ g: unknown }>) => {
      if (e.data.g === 'throw') throw new Error('no tenant');
      return e.data.g as string;
    },
  })
  bad(e: EventEnvelope, c: ListenerContext) {
    return this.probe.run('bad', e, c);
  }
}

/** The group cases of the queue contract: fair order, weights, slots, rate limits, pauses. */
export function runGroupContract(target: ContractTarget): void {
  describe(`queue groups contract: ${target.name}`, () => {
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
        { providers: [QueueProbe, GroupListeners] },
        { ...base, ...extra },
      );
      apps.push(app);
      return {
        bus: app.get(EventBus),
        probe: app.get(QueueProbe),
        listeners: app.get(GroupListeners),
        queues: app.get(EventQueues),
        app,
      };
    }

    it('starts jobs round-robin across groups at concurrency 1: 1,000 of A then 10 of B and C', async () => {
      const { bus, listeners, queues } = await start({ worker: { concurrency: { fair: 1 } } });
      await queues.pause('fair');
      for (let i = 0; i < 1000; i++) {
        await bus.emit('fair.item', { key: 'A', i }, { metadata: { tenant: 'A' } });
      }
      for (const tenant of ['B', 'C']) {
        for (let i = 0; i < 10; i++) {
          await bus.emit('fair.item', { key: tenant, i }, { metadata: { tenant } });
        }
      }
      expect((await queues.counts('fair')).waiting).toBe(1020);
      await queues.resume('fair');
      await waitFor(() => listeners.of('fair').length === 1020, { timeoutMs: 60_000 });
      const order = listeners.of('fair').map((s) => s.group);
      // Until B and C are done, every three consecutive starts hold one each of A, B and C.
      for (let k = 0; k + 3 <= 30; k++) {
        expect(new Set(order.slice(k, k + 3)).size, `starts ${k}..${k + 2}`).toBe(3);
      }
      // Inside a group, emit order.
      for (const g of ['A', 'B', 'C']) {
        const seq = listeners.of('fair', g).map((s) => s.i);
        expect(seq).toEqual([...seq].sort((a, b) => a - b));
      }
    }, 90_000);

    it('gives a group of weight 3 three starts per round', async () => {
      const { bus, listeners, queues } = await start({ worker: { concurrency: { weighted: 1 } } });
      await queues.pause('weighted');
      for (let i = 0; i < 30; i++) await bus.emit('weighted.item', { key: 'H', i });
      for (let i = 0; i < 10; i++) await bus.emit('weighted.item', { key: 'L', i });
      await queues.resume('weighted');
      await waitFor(() => listeners.of('weighted').length === 40);
      const order = listeners
        .of('weighted')
        .slice(0, 40)
        .map((s) => s.group)
        .join('');
      expect(order).toBe('HHHL'.repeat(10));
    });

    it('runs a group with groupConcurrency 1 strictly serially, retries with backoff included', async () => {
      const { bus, probe, listeners } = await start({ worker: { concurrency: { serial: 4 } } });
      probe.set('serial', async (e) => {
        const item = e.data as Item;
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (item.fail && (e as EventEnvelope & { attempt?: number }).attempt === 1) {
          throw new Error('first attempt fails');
        }
      });
      for (let i = 0; i < 5; i++) {
        await bus.emit('serial.item', { key: 'X', i, fail: i === 1 });
        await bus.emit('serial.item', { key: 'Y', i });
      }
      await waitFor(() => listeners.of('serial').length === 11);
      const x = listeners.of('serial', 'X');
      expect(x.map((s) => `${s.i}/${s.attempt}`)).toEqual([
        '0/1',
        '1/1',
        '1/2',
        '2/1',
        '3/1',
        '4/1',
      ]);
      // The retry waited its backoff, and X's next job waited for the retry.
      expect(x[2].at - x[1].at).toBeGreaterThanOrEqual(80);
      expect(listeners.maxRunning.get('serial/X')).toBe(1);
      expect(listeners.maxRunning.get('serial/Y')).toBe(1);
      // Y went on while X waited for its retry.
      const y = listeners.of('serial', 'Y');
      expect(y.at(-1)!.at).toBeLessThan(x.at(-1)!.at);
    });

    it('never runs more than groupConcurrency jobs of a group at once', async () => {
      const { bus, probe, listeners } = await start({ worker: { concurrency: { pair: 6 } } });
      probe.set('pair', () => new Promise((resolve) => setTimeout(resolve, 20)));
      for (let i = 0; i < 8; i++) {
        await bus.emit('pair.item', { key: 'P', i });
        await bus.emit('pair.item', { key: 'Q', i });
      }
      await waitFor(() => listeners.of('pair').length === 16);
      expect(listeners.maxRunning.get('pair/P')).toBe(2);
      expect(listeners.maxRunning.get('pair/Q')).toBe(2);
    });

    it('skips a group over its rate limit without using attempts, while other groups go on', async () => {
      const { bus, listeners } = await start({ worker: { concurrency: { rated: 4 } } });
      for (let i = 0; i < 6; i++) await bus.emit('rated.item', { key: 'R', i });
      for (let i = 0; i < 3; i++) await bus.emit('rated.item', { key: 'S', i });
      await waitFor(() => listeners.of('rated').length === 9, { timeoutMs: 20_000 });
      const r = listeners.of('rated', 'R');
      expect(r.every((s) => s.attempt === 1)).toBe(true);
      // No window of 1,000 ms holds more than 2 starts. The handler starts a little after the
      // transport noted the start, by a delay that a loaded machine stretches (88 ms was seen):
      // hence the 200 ms of slack.
      for (let k = 0; k + 2 < r.length; k++)
        expect(r[k + 2].at - r[k].at).toBeGreaterThanOrEqual(800);
      // S (2 starts per window too) was not held back behind R's waits.
      const s = listeners.of('rated', 'S');
      expect(s[1].at).toBeLessThan(r[2].at);
    }, 30_000);

    it('pauses one group while the others run, and resumes it', async () => {
      const { bus, listeners, queues } = await start();
      await bus.emit('pair.item', { key: 'seed', i: 0 });
      await waitFor(() => listeners.of('pair').length === 1);
      await queues.pauseGroup('pair', 'P');
      for (let i = 0; i < 3; i++) {
        await bus.emit('pair.item', { key: 'P', i });
        await bus.emit('pair.item', { key: 'Q', i });
      }
      await waitFor(() => listeners.of('pair', 'Q').length === 3);
      const groups = await queues.groups('pair');
      expect(groups.find((g) => g.id === 'P')).toMatchObject({ waiting: 3, paused: true });
      expect(listeners.of('pair', 'P')).toHaveLength(0);
      await queues.resumeGroup('pair', 'P');
      await waitFor(() => listeners.of('pair', 'P').length === 3);
      await waitFor(async () => (await queues.groups('pair')).length === 0);
    });

    it('refuses an emit whose group is bad, naming the listener, and stores nothing', async () => {
      const { bus, queues } = await start({ worker: false });
      await expect(bus.emit('bad.item', { g: 'throw' })).rejects.toBeInstanceOf(InvalidGroupError);
      await expect(bus.emit('bad.item', { g: '' })).rejects.toThrow(/GroupListeners\.bad/);
      await expect(bus.emit('bad.item', { g: 'x'.repeat(129) })).rejects.toThrow(/128 bytes/);
      await expect(bus.emit('bad.item', { g: 7 })).rejects.toBeInstanceOf(InvalidGroupError);
      // The emit's own group overrides the function.
      await bus.emit('bad.item', { g: 'throw' }, { group: 'ok' });
      await expect(bus.emit('bad.item', { g: 'ok' }, { group: '' })).rejects.toBeInstanceOf(
        InvalidGroupError,
      );
      await bus.emitMany([{ name: 'bad.item', data: { g: 'throw' }, options: { group: 'ok' } }]);
      await expect(
        bus.emitMany([{ name: 'bad.item', data: { g: 'throw' } }]),
      ).rejects.toBeInstanceOf(InvalidGroupError);
      expect((await queues.counts('bad')).waiting).toBe(2);
      expect(await queues.groups('bad')).toMatchObject([{ id: 'ok', waiting: 2 }]);
    });

    it('oldestWaitingAge sees jobs waiting in groups', async () => {
      const { bus, app } = await start({ worker: false });
      const transport = app.get<{ oldestWaitingAge(queue: string): Promise<number | undefined> }>(
        QUEUE_TRANSPORT,
      );
      expect(await transport.oldestWaitingAge('pair')).toBeUndefined();
      const storedAt = Date.now();
      await bus.emit('pair.item', { key: 'K', i: 0 });
      await bus.emit('pair.item', { key: 'L', i: 1 });
      await waitFor(async () => ((await transport.oldestWaitingAge('pair')) ?? -1) >= 30, {
        message: 'the grouped jobs age',
      });
      expect(Date.now() - storedAt).toBeGreaterThanOrEqual(30);
    });

    it('counts grouped jobs as waiting, and obliterate removes them with their groups', async () => {
      const { bus, queues } = await start({ worker: false });
      await queues.pauseGroup('pair', 'Z');
      for (let i = 0; i < 3; i++) await bus.emit('pair.item', { key: `K${i % 2}`, i });
      expect((await queues.counts('pair')).waiting).toBe(3);
      expect((await queues.groups('pair')).map((g) => [g.id, g.waiting])).toEqual([
        ['K0', 2],
        ['K1', 1],
        ['Z', 0],
      ]);
      const listed = await queues.listJobs('pair', 'waiting');
      expect(listed.map((j) => (j.payload?.data as Item).i)).toEqual([0, 2, 1]);
      const page = await queues.listJobs('pair', 'waiting', { offset: 1, limit: 1 });
      expect(page.map((j) => (j.payload?.data as Item).i)).toEqual([2]);
      expect(await queues.obliterate('pair', { force: true })).toBe(3);
      expect((await queues.counts('pair')).waiting).toBe(0);
      expect(await queues.groups('pair')).toEqual([]);
    });

    it('refuses bad group options at decoration time', () => {
      const decorate = (options: object) => () => {
        class Bad {
          @OnEvent('x')
          @ShouldQueue(options as never)
          handle() {}
        }
        return Bad;
      };
      expect(decorate({ group: 'k', groupConcurrency: 0 })).toThrow(InvalidOptionError);
      expect(decorate({ group: 'k', groupConcurrency: 1.5 })).toThrow(/groupConcurrency/);
      expect(decorate({ group: 'k', groupRateLimit: { max: 0, durationMs: 10 } })).toThrow(
        /groupRateLimit\.max/,
      );
      expect(decorate({ group: 'k', groupRateLimit: 5 })).toThrow(InvalidOptionError);
      expect(decorate({ group: 'k', groupWeight: -1 })).toThrow(/groupWeight/);
      expect(decorate({ group: 42 })).toThrow(/group/);
      expect(decorate({ groupConcurrency: 2 })).toThrow(/a `group` option beside it/);
    });
  });
}
