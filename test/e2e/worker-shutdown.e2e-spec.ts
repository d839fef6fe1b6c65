import {
  Injectable,
  Logger,
  Module,
  type INestApplicationContext,
  type OnModuleDestroy,
} from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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

/** A database pool the app closes in its own `onModuleDestroy`, as applications do. */
@Injectable()
class Pool implements OnModuleDestroy {
  isClosed = false;
  readonly callsAfterClose: number[] = [];

  async query(n: number): Promise<void> {
    if (this.isClosed) {
      this.callsAfterClose.push(n);
      throw new Error('pool is closed');
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (this.isClosed) {
      this.callsAfterClose.push(n);
      throw new Error('pool closed during the query');
    }
  }

  async onModuleDestroy(): Promise<void> {
    // Refuses new queries at once, then takes a while to end its connections, like `pg`'s end().
    this.isClosed = true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

@Module({ providers: [Pool], exports: [Pool] })
class DatabaseModule {}

@Injectable()
class OrderListener {
  readonly handled: number[] = [];

  constructor(private readonly pool: Pool) {}

  @OnEvent('order.placed')
  @ShouldQueue({ queue: 'orders', tries: 1 })
  async handle(event: EventEnvelope<{ n: number }>): Promise<void> {
    await this.pool.query(event.data.n);
    this.handled.push(event.data.n);
  }
}

let server: RedisServer;
let seq = 0;
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

async function start(options: EventsModuleOptions): Promise<INestApplicationContext> {
  const app = await createTestApp(
    { imports: [DatabaseModule], providers: [OrderListener] },
    { redis: server.url, ...options },
  );
  apps.push(app);
  return app;
}

describe('Worker: shutdown', () => {
  it('starts no job once shutdown began, dead-letters none, and a restart handles every job', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const prefix = `shutdown-${++seq}`;
    const producer = await start({ prefix, worker: false });
    const bus = producer.get(EventBus);
    const worker = await start({ prefix, worker: { concurrency: 4 } });
    const pool = worker.get(Pool);
    const listener = worker.get(OrderListener);

    // Jobs keep arriving while the worker app closes.
    let emitted = 0;
    let isEmitting = true;
    const emitting = (async () => {
      while (isEmitting) {
        await Promise.all(
          Array.from({ length: 10 }, () => bus.emit('order.placed', { n: emitted++ })),
        );
      }
    })();
    await waitFor(() => listener.handled.length >= 200, { timeoutMs: 30_000 });
    await worker.close();
    apps.splice(apps.indexOf(worker), 1);
    expect(pool.isClosed).toBe(true);
    const handledBeforeRestart = listener.handled.length;
    await waitFor(() => emitted >= handledBeforeRestart + 200, { timeoutMs: 30_000 });
    isEmitting = false;
    await emitting;

    expect(pool.callsAfterClose).toEqual([]);
    const queues = producer.get(EventQueues);
    expect((await queues.counts('orders')).dead).toBe(0);

    const restarted = await start({ prefix, worker: { concurrency: 4 } });
    const again = restarted.get(OrderListener);
    await waitFor(async () => (await queues.counts('orders')).completed === emitted, {
      timeoutMs: 60_000,
      message: 'every job handled after the restart',
    });
    const all = new Set([...listener.handled, ...again.handled]);
    expect(all.size).toBe(emitted);
    expect(await queues.counts('orders')).toMatchObject({ waiting: 0, active: 0, dead: 0 });
  }, 120_000);
});
