import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

/** A no-op queued listener: fast enough for the worker to read ahead. */
@Injectable()
class FastListener {
  readonly handled = new Set<number>();
  calls = 0;

  @OnEvent('fast.job')
  @ShouldQueue({ queue: 'fast' })
  handle(event: EventEnvelope<{ n: number }>) {
    this.calls++;
    this.handled.add(event.data.n);
  }
}

let server: RedisServer;
let seq = 0;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('Redis worker: batched acks and read-ahead', () => {
  const total = 3000;

  async function start(options: EventsModuleOptions): Promise<INestApplicationContext> {
    return createTestApp({ providers: [FastListener] }, { redis: server.url, ...options });
  }

  it('leaves nothing active and loses nothing when it stops with jobs read ahead', async () => {
    const prefix = `readahead-${++seq}`;
    const producer = await start({ prefix, worker: false });
    const bus = producer.get(EventBus);
    const emits: Promise<unknown>[] = [];
    for (let n = 0; n < total; n++) emits.push(bus.emit('fast.job', { n }));
    await Promise.all(emits);

    const first = await start({ prefix, worker: { concurrency: 10 } });
    const firstListener = first.get(FastListener);
    await waitFor(() => firstListener.calls >= 300, { timeoutMs: 30_000 });
    await first.close();
    const queues = producer.get(EventQueues);
    const afterStop = await queues.counts('fast');
    // Nothing left held by the stopped worker: every job is done or back in the queue.
    expect(afterStop.active).toBe(0);
    expect(afterStop.waiting + afterStop.completed).toBe(total);
    expect(afterStop.completed).toBe(firstListener.calls);
    expect(afterStop.waiting).toBeGreaterThan(0);

    const second = await start({ prefix, worker: { concurrency: 10 } });
    const secondListener = second.get(FastListener);
    await waitFor(async () => (await queues.counts('fast')).completed === total, {
      timeoutMs: 60_000,
    });
    const handled = new Set([...firstListener.handled, ...secondListener.handled]);
    expect(handled.size).toBe(total);
    // Put back without counting an attempt: nothing was handled twice.
    expect(firstListener.calls + secondListener.calls).toBe(total);
    expect(await queues.counts('fast')).toMatchObject({
      active: 0,
      waiting: 0,
      failed: 0,
      dead: 0,
    });
    await second.close();
    await producer.close();
  });
});
