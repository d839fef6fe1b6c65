import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventStore,
  UpcasterChainError,
  UpcastFailedError,
  type EventsModuleOptions,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { prepareEvent } from '../../lib/store/event-store.validation.js';

const v1Row = (id: string, data: unknown) =>
  prepareEvent({ id, name: 'order.placed', data }, 0, Date.now(), 1 << 20);
import {
  DuplicateUp,
  FailingUp,
  InvoiceSent,
  InvoiceUpTo2,
  PlacedListener,
  UpTo2,
  UpTo3,
} from '../fixtures/upcaster.fixtures.js';

describe('event versions and upcasters', () => {
  let server: RedisServer;
  let apps: INestApplicationContext[] = [];
  let seq = 0;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });

  /** An app of this test's prefix (on the test's redis-server, or memory with `redis: false`). */
  async function start(
    providers: Function[],
    options: EventsModuleOptions & { onRedis?: boolean } = {},
  ): Promise<INestApplicationContext> {
    const { onRedis = true, ...rest } = options;
    const redis = onRedis ? { redis: server.url, prefix: `up-${process.pid}-${seq}` } : {};
    const app = await createTestApp({ providers: providers as never[] }, { ...redis, ...rest });
    apps.push(app);
    return app;
  }
  const next = () => void seq++;

  it('a v1 job from an older producer reaches the listener of a v2 app upcast', async () => {
    next();
    const producer = await start([PlacedListener], { worker: false });
    const sent = await producer.get(EventBus).emit('order.placed', { total: 10 });
    expect(sent.version).toBeUndefined();
    const worker = await start([PlacedListener, UpTo2]);
    await waitFor(() => worker.get(PlacedListener).seen.length === 1);
    expect(worker.get(PlacedListener).seen[0]).toEqual({
      data: { total: 10, currency: 'EUR' },
      version: 2,
      attempt: 1,
    });
  });

  it('a v3 job met by a v2 worker goes back (no attempt counted) and ends on a v3 worker', async () => {
    next();
    const v2 = await start([PlacedListener, UpTo2]);
    const producer = await start([PlacedListener, UpTo2, UpTo3], { worker: false });
    const sent = await producer.get(EventBus).emit('order.placed', {
      amount: { value: 5, currency: 'USD' },
    });
    expect(sent.version).toBe(3);
    // The v2 worker met it and put it back with a delay.
    await waitFor(async () => (await v2.get(EventQueues).counts('orders')).delayed === 1);
    const v3 = await start([PlacedListener, UpTo2, UpTo3]);
    await waitFor(() => v3.get(PlacedListener).seen.length === 1, { timeoutMs: 15_000 });
    expect(v3.get(PlacedListener).seen[0]).toEqual({
      data: { amount: { value: 5, currency: 'USD' } },
      version: 3,
      attempt: 1,
    });
    expect(v2.get(PlacedListener).seen).toEqual([]);
  });

  it('dead-letters a newer version after worker.versionWaitMs, and a throwing upcaster', async () => {
    next();
    const v1 = await start([PlacedListener], { worker: false });
    await v1.get(EventBus).emit('order.placed', { total: -1 });
    const producer = await start([PlacedListener, UpTo2, UpTo3], { worker: false });
    await producer.get(EventBus).emit('order.placed', { amount: { value: 1, currency: 'EUR' } });
    const worker = await start([PlacedListener, FailingUp], { worker: { versionWaitMs: 0 } });
    const queues = worker.get(EventQueues);
    await waitFor(async () => (await queues.counts('orders')).dead === 2);
    const dead = await queues.listDead('orders');
    expect(dead.map((d) => d.reason).sort()).toEqual(['unknown_version', 'upcast_failed']);
    expect(dead.find((d) => d.reason === 'upcast_failed')?.error).toContain('negative total');
    expect(worker.get(PlacedListener).seen).toEqual([]);
  });

  it('upcasts stored events through two upcasters when read, and names the event when one throws', async () => {
    const app = await start([UpTo2, UpTo3], { onRedis: false });
    const store = app.get(EventStore);
    // A row an older app wrote (version 1), as a shared store would hold it.
    await store.appendRecorded([{ streamId: 'order-1', event: v1Row('e-1', { total: 7 }) }]);
    await store.append('order-1', [
      { name: 'order.placed', data: { amount: { value: 1, currency: 'EUR' } } },
    ]);
    const read = [];
    for await (const e of store.readStream('order-1')) read.push(e.data);
    expect(read).toEqual([
      { amount: { value: 7, currency: 'EUR' } },
      { amount: { value: 1, currency: 'EUR' } },
    ]);

    const failing = await start([FailingUp], { onRedis: false });
    const failingStore = failing.get(EventStore);
    await failingStore.appendRecorded([
      { streamId: 'order-2', event: v1Row('e-bad', { total: -5 }) },
    ]);
    const error = await (async () => {
      for await (const _ of failingStore.readStream('order-2')) void _;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UpcastFailedError);
    expect((error as UpcastFailedError).eventId).toBe('e-bad');
  });

  it('fails the boot on a gap, a duplicate, or a chain short of the class version', async () => {
    await expect(start([UpTo3], { onRedis: false })).rejects.toThrow(UpcasterChainError);
    await expect(start([UpTo2, DuplicateUp], { onRedis: false })).rejects.toThrow(
      /two upcasters from version 1/,
    );
    const plain = await start([], { onRedis: false });
    expect((await plain.get(EventBus).emit(new InvoiceSent('i-1'))).version).toBe(3);
    await expect(start([InvoiceUpTo2], { onRedis: false })).rejects.toThrow(
      /version 3 but the upcasters reach version 2/,
    );
  });
});
