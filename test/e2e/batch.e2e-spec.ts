import { Injectable, Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventQueues,
  InvalidOptionError,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import { CONSUMER_GROUP, RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { useRedisTransports } from '../fixtures/use-redis-transports.js';

type Item = { i: number };

@Injectable()
class GatedBatch {
  readonly calls: number[][] = [];
  gate: Promise<void> = Promise.resolve();

  /** Waits for the test's gate, ignoring its signal: as a handler busy in a blocking call. */
  @OnEvent('gated.item')
  @ShouldQueue({ queue: 'gated', batch: { maxSize: 2, maxWaitMs: 5000 } })
  async handle(events: EventEnvelope<Item>[]) {
    this.calls.push(events.map((e) => e.data.i));
    await this.gate;
  }
}

@Injectable()
class SharedBatch {
  readonly seen: number[] = [];
  readonly sizes: number[] = [];

  @OnEvent('shared.item')
  @ShouldQueue({
    queue: 'shared',
    batch: { maxSize: 10, maxWaitMs: 20, key: (e: EventEnvelope<Item>) => String(e.data.i % 3) },
  })
  handle(events: EventEnvelope<Item>[]) {
    this.sizes.push(events.length);
    for (const e of events) this.seen.push(e.data.i);
  }
}

const rig = useRedisTransports();
// Registered after the rig's: runs before the apps close (hooks unwind in reverse order).
afterEach(() => {
  vi.restoreAllMocks();
});

describe('batched handlers', () => {
  it('fences a batch: once another worker reclaimed its jobs, the old worker cannot acknowledge them', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const prefix = rig.prefix('batch-fence');
    // A long visibility timeout: no heartbeat notices the claim before the handler returns.
    const app = rig.track(
      await createTestApp(
        { providers: [GatedBatch] },
        { redis: rig.server.url, prefix, visibilityTimeout: 60_000 },
      ),
    );
    const listener = app.get(GatedBatch);
    let open!: () => void;
    listener.gate = new Promise<void>((resolve) => (open = resolve));
    await app.get(EventBus).emit('gated.item', { i: 0 });
    await app.get(EventBus).emit('gated.item', { i: 1 });
    await waitFor(() => listener.calls.length === 1);
    expect(listener.calls[0]).toEqual([0, 1]);
    // What a worker that reclaimed the entries of a frozen worker does.
    const stream = new RedisKeys(prefix).queue('gated').stream;
    const pending = (await rig.redis.xpending(stream, CONSUMER_GROUP, '-', '+', 10)) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pending).toHaveLength(2);
    await rig.redis.xclaim(
      stream,
      CONSUMER_GROUP,
      'another-worker',
      0,
      ...pending.map((p) => p[0]),
    );
    open();
    await waitFor(
      () => warn.mock.calls.filter(([m]) => String(m).includes('reclaimed')).length === 2,
      {
        message: 'both acks refused as stale',
      },
    );
    const after = (await rig.redis.xpending(stream, CONSUMER_GROUP, '-', '+', 10)) as [
      string,
      string,
    ][];
    expect(after.map((p) => p[1])).toEqual(['another-worker', 'another-worker']);
    expect(await app.get(EventQueues).counts('gated')).toMatchObject({ completed: 0 });
  });

  it('two workers (apps) on one Redis batch the same queue: every job handled once, batches per key', async () => {
    const prefix = rig.prefix('batch-shared');
    const options = { redis: rig.server.url, prefix };
    const first = rig.track(await createTestApp({ providers: [SharedBatch] }, options));
    const second = rig.track(await createTestApp({ providers: [SharedBatch] }, options));
    const items = Array.from({ length: 60 }, (_, i) => ({ name: 'shared.item', data: { i } }));
    await first.get(EventBus).emitMany(items);
    const a = first.get(SharedBatch);
    const b = second.get(SharedBatch);
    await waitFor(() => a.seen.length + b.seen.length === 60);
    expect([...a.seen, ...b.seen].sort((x, y) => x - y)).toEqual(items.map((item) => item.data.i));
    // Some call held more than one job: the jobs were batched.
    expect(Math.max(...a.sizes, ...b.sizes)).toBeGreaterThan(1);
    await waitFor(async () => (await first.get(EventQueues).counts('shared')).completed === 60);
  });

  it('refuses bad batch options at decoration time with a typed error', () => {
    const decorate =
      (batch: unknown, extra: Record<string, unknown> = {}) =>
      () =>
        ShouldQueue({ batch, ...extra } as never)({}, 'm', { value: () => undefined });
    const refused = (batch: unknown, text: string, extra?: Record<string, unknown>) => {
      expect(decorate(batch, extra)).toThrow(InvalidOptionError);
      expect(decorate(batch, extra)).toThrow(text);
    };
    refused({ maxSize: 0, maxWaitMs: 10 }, 'batch on Object.m.maxSize');
    refused({ maxSize: 1.5, maxWaitMs: 10 }, 'maxSize');
    refused({ maxSize: 10, maxWaitMs: -1 }, 'maxWaitMs');
    refused({ maxSize: 10 }, 'maxWaitMs');
    refused({ maxSize: 10, maxWaitMs: 0, key: '' }, 'batch on Object.m.key');
    refused({ maxSize: 10, maxWaitMs: 0, key: 3 }, 'key');
    refused({ maxSize: 10, maxWaitMs: 0, size: 3 }, 'no such option');
    refused('big', '{ maxSize, maxWaitMs, key? }');
    refused({ maxSize: 10, maxWaitMs: 0 }, 'no group on the same listener', { group: 'tenant' });
    refused({ maxSize: 10, maxWaitMs: 0 }, 'no singleton', {
      singleton: { key: 'k', mode: 'skip' },
    });
    refused({ maxSize: 10, maxWaitMs: 0 }, 'no debounce', { debounce: { key: 'k', delayMs: 10 } });
    refused({ maxSize: 10, maxWaitMs: 0 }, 'no cancelOn', {
      cancelOn: { event: 'a.b', match: () => true },
    });
    expect(decorate({ maxSize: 10, maxWaitMs: 0, key: 'tenantId' })).not.toThrow();
  });
});
