import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BatchItemsFailedError,
  EventBus,
  EventQueues,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import type { ContractTarget } from './queue-transport.contract.js';

type Item = { i: number };
type Call = { at: number; attempt: number; items: { i: number; attempt: number; key?: string }[] };

@Injectable()
class BatchListeners {
  readonly calls = new Map<string, Call[]>();
  readonly failedHooks: number[] = [];

  private record(name: string, events: EventEnvelope<Item>[], context: ListenerContext): Call {
    const call: Call = {
      at: Date.now(),
      attempt: context.attempt,
      items: events.map((e) => ({ i: e.data.i, attempt: e.attempt!, key: e.metadata.tenantId })),
    };
    const list = this.calls.get(name) ?? [];
    list.push(call);
    this.calls.set(name, list);
    return call;
  }

  of(name: string): Call[] {
    return this.calls.get(name) ?? [];
  }

  @OnEvent('sized.item')
  @ShouldQueue({ queue: 'sized', batch: { maxSize: 3, maxWaitMs: 300 } })
  sized(events: EventEnvelope<Item>[], context: ListenerContext) {
    this.record('sized', events, context);
  }

  @OnEvent('waited.item')
  @ShouldQueue({ queue: 'waited', batch: { maxSize: 100, maxWaitMs: 400 } })
  waited(events: EventEnvelope<Item>[], context: ListenerContext) {
    this.record('waited', events, context);
  }

  @OnEvent('keyed.item')
  @ShouldQueue({ queue: 'keyed', batch: { maxSize: 10, maxWaitMs: 100, key: 'tenantId' } })
  keyed(events: EventEnvelope<Item>[], context: ListenerContext) {
    this.record('keyed', events, context);
  }

  @OnEvent('unit.item')
  @ShouldQueue({ queue: 'unit', tries: 2, backoff: 50, batch: { maxSize: 3, maxWaitMs: 100 } })
  unit(events: EventEnvelope<Item>[], context: ListenerContext) {
    this.record('unit', events, context);
    if (context.attempt === 1) throw new Error('the whole batch failed');
  }

  @OnEvent('partial.item')
  @ShouldQueue({ queue: 'partial', tries: 2, backoff: 50, batch: { maxSize: 3, maxWaitMs: 100 } })
  partial(events: EventEnvelope<Item>[], context: ListenerContext) {
    this.record('partial', events, context);
    const bad = events.filter((e) => e.data.i === 1 && e.attempt === 1);
    if (bad.length > 0) {
      throw new BatchItemsFailedError(bad.map((e) => ({ id: e.id, error: new Error('item 1') })));
    }
  }

  @OnEvent('dead.item')
  @ShouldQueue({
    queue: 'dead',
    tries: 1,
    batch: { maxSize: 3, maxWaitMs: 100 },
    onFailed(this: BatchListeners, e: EventEnvelope<Item>) {
      this.failedHooks.push(e.data.i);
    },
  })
  dead(events: EventEnvelope<Item>[], context: ListenerContext) {
    this.record('dead', events, context);
    throw new Error('always');
  }
}

/** Batched handlers (`@ShouldQueue({ batch })`) on a transport, through a real worker. */
export function runBatchContract(target: ContractTarget): void {
  describe(`batched handlers contract: ${target.name}`, () => {
    const apps: INestApplicationContext[] = [];
    beforeAll(async () => target.beforeAll?.());
    afterAll(async () => target.afterAll?.());
    afterEach(async () => {
      vi.restoreAllMocks();
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    /** An app whose queue is paused while `count` items are emitted, then resumed. */
    async function emitted(
      name: string,
      count: number,
      metadata: (i: number) => Record<string, string> = () => ({}),
    ) {
      const app = await createTestApp({ providers: [BatchListeners] }, await target.options());
      apps.push(app);
      const queues = app.get(EventQueues);
      await queues.pause(name);
      const bus = app.get(EventBus);
      for (let i = 0; i < count; i++) {
        await bus.emit(`${name}.item`, { i }, { metadata: metadata(i) });
      }
      const resumedAt = Date.now();
      await queues.resume(name);
      return { listeners: app.get(BatchListeners), queues, resumedAt };
    }

    it('hands the handler up to maxSize jobs at a time, in emit order; the rest after maxWaitMs', async () => {
      const { listeners, queues } = await emitted('sized', 7);
      await waitFor(() => listeners.of('sized').flatMap((c) => c.items).length === 7);
      const calls = listeners.of('sized');
      expect(calls.map((c) => c.items.length)).toEqual([3, 3, 1]);
      expect(calls.flatMap((c) => c.items.map((item) => item.i))).toEqual([0, 1, 2, 3, 4, 5, 6]);
      await waitFor(async () => (await queues.counts('sized')).completed === 7);
    });

    it('runs a batch that is not full maxWaitMs after its first job', async () => {
      const { listeners, resumedAt } = await emitted('waited', 2);
      await waitFor(() => listeners.of('waited').length === 1);
      const [call] = listeners.of('waited');
      expect(call.items.map((item) => item.i)).toEqual([0, 1]);
      expect(call.at - resumedAt).toBeGreaterThanOrEqual(400);
    });

    it('keeps batches to one key (a metadata key)', async () => {
      const tenants = ['a', 'b', 'a', 'b', 'a'];
      const { listeners } = await emitted('keyed', 5, (i) => ({ tenantId: tenants[i] }));
      await waitFor(() => listeners.of('keyed').flatMap((c) => c.items).length === 5);
      const calls = listeners.of('keyed');
      for (const call of calls) expect(new Set(call.items.map((item) => item.key)).size).toBe(1);
      const byKey = (key: string) =>
        calls.flatMap((c) => c.items.filter((item) => item.key === key).map((item) => item.i));
      expect(byKey('a')).toEqual([0, 2, 4]);
      expect(byKey('b')).toEqual([1, 3]);
      expect(calls).toHaveLength(2);
    });

    it('retries a failed batch as a unit: every job gets its next attempt', async () => {
      vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { listeners, queues } = await emitted('unit', 3);
      await waitFor(() => listeners.of('unit').flatMap((c) => c.items).length === 6);
      const items = listeners.of('unit').flatMap((c) => c.items);
      expect(items.filter((item) => item.attempt === 1).map((item) => item.i)).toEqual([0, 1, 2]);
      expect(items.filter((item) => item.attempt === 2).map((item) => item.i)).toEqual([0, 1, 2]);
      await waitFor(async () => (await queues.counts('unit')).completed === 3);
      expect(await queues.counts('unit')).toMatchObject({ dead: 0 });
    });

    it('retries only the items a BatchItemsFailedError names; the others are done', async () => {
      vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { listeners, queues } = await emitted('partial', 3);
      await waitFor(() => listeners.of('partial').flatMap((c) => c.items).length === 4);
      await waitFor(async () => (await queues.counts('partial')).completed === 3);
      const calls = listeners.of('partial');
      expect(calls[0].items.map((item) => item.i)).toEqual([0, 1, 2]);
      const retried = calls.slice(1).flatMap((c) => c.items);
      expect(retried).toEqual([{ i: 1, attempt: 2, key: undefined }]);
    });

    it('dead-letters each job of a batch that failed its last attempt, with its failure hook', async () => {
      vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const { listeners, queues } = await emitted('dead', 3);
      await waitFor(async () => (await queues.counts('dead')).dead === 3);
      const dead = await queues.listDead('dead', { limit: 10 });
      expect(dead).toHaveLength(3);
      expect(new Set(dead.map((job) => job.id)).size).toBe(3);
      expect(dead.every((job) => job.listener === 'BatchListeners.dead')).toBe(true);
      await waitFor(() => listeners.failedHooks.length === 3);
      expect([...listeners.failedHooks].sort()).toEqual([0, 1, 2]);
      expect(listeners.of('dead').flatMap((c) => c.items)).toHaveLength(3);
    });
  });
}
