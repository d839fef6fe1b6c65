import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { MemoryQueueTransport } from '../../lib/queue/memory/memory-queue.transport.js';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class TenantListener {
  isHanging = false;
  readonly handled: number[] = [];
  hung = 0;

  /** Fast (so its worker reads ahead), until the test makes it hang. */
  @OnEvent('tenant.job')
  @ShouldQueue({
    queue: 'tenant-ahead',
    group: (e: EventEnvelope<{ n: number }>) => `t${e.data.n % 3}`,
  })
  handle(event: EventEnvelope<{ n: number }>): Promise<void> | void {
    if (this.isHanging) {
      this.hung++;
      return new Promise(() => undefined);
    }
    this.handled.push(event.data.n);
  }
}

@Injectable()
class RateLimitedListener {
  readonly handled: number[] = [];

  @OnEvent('limited.job')
  @ShouldQueue({
    queue: 'limited-ahead',
    group: (e: EventEnvelope<{ n: number }>) => `t${e.data.n % 3}`,
    groupRateLimit: { max: 100_000, durationMs: 1000 },
  })
  handle(event: EventEnvelope<{ n: number }>): void {
    this.handled.push(event.data.n);
  }
}

let server: RedisServer;
const apps: INestApplicationContext[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** The `max` of every reserve call of the memory transport while `run` runs. */
async function reserveSizes(run: () => Promise<void>): Promise<number[]> {
  const sizes: number[] = [];
  const reserve = MemoryQueueTransport.prototype.reserve;
  vi.spyOn(MemoryQueueTransport.prototype, 'reserve').mockImplementation(function (
    this: MemoryQueueTransport,
    ...args: Parameters<MemoryQueueTransport['reserve']>
  ) {
    sizes.push(args[1]);
    return reserve.apply(this, args);
  });
  await run();
  return sizes;
}

describe('Worker: grouped queues read ahead (fair order kept: jobs start as taken)', () => {
  it('reads grouped jobs ahead of its free slots when handlers are fast', async () => {
    const app = await createTestApp(
      { providers: [TenantListener] },
      { worker: { concurrency: 2 } },
    );
    apps.push(app);
    const bus = app.get(EventBus);
    const listener = app.get(TenantListener);
    const sizes = await reserveSizes(async () => {
      await bus.emitMany(
        Array.from({ length: 600 }, (_, n) => ({ name: 'tenant.job', data: { n } })),
      );
      await waitFor(() => listener.handled.length === 600, { timeoutMs: 20_000 });
    });
    expect(Math.max(...sizes)).toBeGreaterThan(2);
    // Round-robin over the three groups, each in emit order: a worker starts what it read in
    // the order it was taken.
    for (let k = 0; k < 3; k++) {
      const group = listener.handled.filter((n) => n % 3 === k);
      expect(group).toEqual([...group].sort((a, b) => a - b));
    }
  });

  it('never reads ahead on a queue with a group rate limit (a take counts the start)', async () => {
    const app = await createTestApp(
      { providers: [RateLimitedListener] },
      { worker: { concurrency: 2 } },
    );
    apps.push(app);
    const bus = app.get(EventBus);
    const listener = app.get(RateLimitedListener);
    const sizes = await reserveSizes(async () => {
      await bus.emitMany(
        Array.from({ length: 600 }, (_, n) => ({ name: 'limited.job', data: { n } })),
      );
      await waitFor(() => listener.handled.length === 600, { timeoutMs: 20_000 });
    });
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
  });

  it('on Redis, gives grouped jobs read ahead back when its handlers hang, and an idle worker runs them', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const prefix = `group-ahead-${process.pid}`;
    const options = { redis: server.url, prefix, worker: { concurrency: 2, shutdownTimeout: 100 } };
    const first = await createTestApp({ providers: [TenantListener] }, options);
    apps.push(first);
    const bus = first.get(EventBus);
    const queues = first.get(EventQueues);
    const busy = first.get(TenantListener);
    // Fast jobs first: the worker measures its handlers and starts reading ahead.
    await Promise.all(Array.from({ length: 200 }, (_, n) => bus.emit('tenant.job', { n })));
    await waitFor(() => busy.handled.length === 200, { timeoutMs: 30_000 });

    busy.isHanging = true;
    await Promise.all(Array.from({ length: 50 }, (_, n) => bus.emit('tenant.job', { n: 200 + n })));
    // Two hang in the slots; others wait in the first worker's read-ahead (pending for it).
    await waitFor(() => busy.hung === 2);
    await waitFor(async () => (await queues.counts('tenant-ahead')).active > 2, {
      message: 'grouped jobs read ahead by the first worker',
    });

    const second = await createTestApp({ providers: [TenantListener] }, options);
    apps.push(second);
    const idle = second.get(TenantListener);
    await waitFor(() => idle.handled.length === 48, {
      timeoutMs: 20_000,
      message: 'the idle worker ran the 48 grouped jobs the busy one could not start',
    });
    expect(busy.hung).toBe(2);
  }, 60_000);
});
