import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventQueues,
  JobCancelledError,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

type Job = EventEnvelope<{ key: string; n: number }>;

/** Holds each job until the test releases it (or its signal aborts); records what happened. */
@Injectable()
class Blocking {
  readonly started: number[] = [];
  readonly finished: number[] = [];
  readonly aborted = new Map<number, unknown>();
  private readonly releases = new Map<number, () => void>();

  release(n: number): void {
    this.releases.get(n)?.();
  }

  protected hold(event: Job, context: ListenerContext): Promise<void> {
    const { n } = event.data;
    this.started.push(n);
    return new Promise<void>((resolve, reject) => {
      this.releases.set(n, () => {
        this.finished.push(n);
        resolve();
      });
      context.signal.addEventListener('abort', () => {
        this.aborted.set(n, context.signal.reason);
        reject(context.signal.reason as Error);
      });
    });
  }
}

@Injectable()
class SkipListener extends Blocking {
  @OnEvent('single.skip')
  @ShouldQueue({
    queue: 'single',
    tries: 3,
    singleton: { key: (e: Job) => e.data.key, mode: 'skip' },
  })
  handle(event: Job, context: ListenerContext): Promise<void> {
    return this.hold(event, context);
  }
}

@Injectable()
class CancelListener extends Blocking {
  @OnEvent('single.cancel')
  @ShouldQueue({
    queue: 'single',
    tries: 3,
    singleton: { key: (e: Job) => e.data.key, mode: 'cancel' },
  })
  handle(event: Job, context: ListenerContext): Promise<void> {
    return this.hold(event, context);
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

async function idle(app: INestApplicationContext): Promise<void> {
  const queues = app.get(EventQueues);
  await waitFor(
    async () => {
      const c = await queues.counts('single');
      return c.waiting + c.delayed + c.active === 0;
    },
    { message: 'queue "single" idle' },
  );
}

describe.each([
  ['memory', (): EventsModuleOptions => ({ worker: { concurrency: 4 } })],
  [
    'redis',
    (): EventsModuleOptions => ({
      redis: server.url,
      prefix: `single-${++seq}`,
      worker: { concurrency: 4 },
    }),
  ],
])('Singletons (%s)', (_name, options) => {
  it("mode 'skip': a job of a key that runs is not run; other keys run; the key is free once it ends", async () => {
    const app = await createTestApp({ providers: [SkipListener] }, options());
    apps.push(app);
    const bus = app.get(EventBus);
    const listener = app.get(SkipListener);
    await bus.emit('single.skip', { key: 'a', n: 1 });
    await waitFor(() => listener.started.includes(1), { message: 'job 1 started' });
    await bus.emit('single.skip', { key: 'a', n: 2 });
    await bus.emit('single.skip', { key: 'b', n: 3 });
    await waitFor(() => listener.started.includes(3), { message: 'job 3 (key b) started' });
    listener.release(1);
    listener.release(3);
    await idle(app);
    await bus.emit('single.skip', { key: 'a', n: 4 });
    await waitFor(() => listener.started.includes(4), { message: 'job 4 started' });
    listener.release(4);
    await idle(app);
    expect(listener.started).toEqual([1, 3, 4]);
    expect((await app.get(EventQueues).counts('single')).dead).toBe(0);
  });

  it("mode 'skip': two jobs of one key stored before either starts: one runs", async () => {
    const app = await createTestApp({ providers: [SkipListener] }, options());
    apps.push(app);
    const bus = app.get(EventBus);
    const listener = app.get(SkipListener);
    await bus.emitMany([
      { name: 'single.skip', data: { key: 'a', n: 1 } },
      { name: 'single.skip', data: { key: 'a', n: 2 } },
    ]);
    await waitFor(() => listener.started.length === 1, { message: 'one job started' });
    await waitFor(async () => (await app.get(EventQueues).counts('single')).waiting === 0, {
      message: 'the other job taken',
    });
    listener.release(listener.started[0]);
    await idle(app);
    expect(listener.started).toHaveLength(1);
  });

  it("mode 'cancel': a new job aborts the running one (JobCancelledError, not retried) and runs, even at concurrency 1", async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const app = await createTestApp(
      { providers: [CancelListener] },
      { ...options(), worker: { concurrency: 1 } },
    );
    apps.push(app);
    const bus = app.get(EventBus);
    const listener = app.get(CancelListener);
    await bus.emit('single.cancel', { key: 'a', n: 1 });
    await waitFor(() => listener.started.includes(1), { message: 'job 1 started' });
    await bus.emit('single.cancel', { key: 'a', n: 2 });
    await waitFor(() => listener.started.includes(2), { message: 'job 2 started' });
    expect(listener.aborted.get(1)).toBeInstanceOf(JobCancelledError);
    listener.release(2);
    await idle(app);
    expect(listener.started).toEqual([1, 2]);
    expect(listener.finished).toEqual([2]);
    const counts = await app.get(EventQueues).counts('single');
    expect(counts.dead).toBe(0);
    expect(counts.failed).toBe(0);
  });
});
