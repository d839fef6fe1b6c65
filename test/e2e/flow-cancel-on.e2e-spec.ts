import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

type Order = EventEnvelope<{ id: string }>;

/** Reminders of orders, cancelled by `order.cancelled` of the same order id. */
@Injectable()
class Reminders {
  readonly started: string[] = [];
  readonly aborted = new Map<string, unknown>();
  private readonly releases = new Map<string, () => void>();

  release(id: string): void {
    this.releases.get(id)?.();
  }

  @OnEvent('order.placed')
  @ShouldQueue({
    queue: 'reminders',
    tries: 3,
    cancelOn: {
      event: 'order.cancelled',
      match: (job: Order, event) => job.data.id === (event as Order).data.id,
    },
  })
  remind(event: Order, context: ListenerContext): Promise<void> {
    const { id } = event.data;
    this.started.push(id);
    return new Promise<void>((resolve, reject) => {
      this.releases.set(id, resolve);
      context.signal.addEventListener('abort', () => {
        this.aborted.set(id, context.signal.reason);
        reject(context.signal.reason as Error);
      });
    });
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
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(options: EventsModuleOptions): Promise<INestApplicationContext> {
  const app = await createTestApp({ providers: [Reminders] }, options);
  apps.push(app);
  return app;
}

describe.each([
  ['memory', (): EventsModuleOptions => ({ worker: { concurrency: 1 } })],
  [
    'redis',
    (): EventsModuleOptions => ({
      redis: server.url,
      prefix: `cancel-on-${++seq}`,
      worker: { concurrency: 1 },
    }),
  ],
])('cancelOn (%s)', (_name, options) => {
  it('removes the matching delayed and waiting jobs, keeps the others, and aborts the running one (not retried)', async () => {
    const app = await start(options());
    const bus = app.get(EventBus);
    const queues = app.get(EventQueues);
    const reminders = app.get(Reminders);
    await bus.emit('order.placed', { id: 'running' });
    await waitFor(() => reminders.started.includes('running'), { message: 'first job started' });
    // The only slot is taken: these wait (or are delayed).
    await bus.emit('order.placed', { id: 'o1' }, { delay: 60_000 });
    await bus.emit('order.placed', { id: 'o2' }, { delay: 60_000 });
    await bus.emit('order.placed', { id: 'o1' });
    await bus.emit('order.placed', { id: 'o3' });
    expect(await queues.counts('reminders')).toMatchObject({ waiting: 2, delayed: 2, active: 1 });

    await bus.emitAsync('order.cancelled', { id: 'o1' });
    expect(await queues.counts('reminders')).toMatchObject({ waiting: 1, delayed: 1 });
    const delayed = await queues.listJobs('reminders', 'delayed');
    expect(delayed.map((j) => (j.payload as Order).data.id)).toEqual(['o2']);

    await bus.emitAsync('order.cancelled', { id: 'running' });
    await waitFor(() => reminders.aborted.has('running'), { message: 'running job aborted' });
    expect(reminders.aborted.get('running')).toBeInstanceOf(JobCancelledError);
    await waitFor(() => reminders.started.includes('o3'), { message: 'o3 started' });
    reminders.release('o3');
    await waitFor(async () => (await queues.counts('reminders')).active === 0, { message: 'idle' });
    expect(reminders.started).toEqual(['running', 'o3']);
    expect(await queues.counts('reminders')).toMatchObject({
      waiting: 0,
      delayed: 1,
      dead: 0,
      failed: 0,
    });
  });
});

describe('cancelOn across applications (redis)', () => {
  it('an event emitted by another application aborts the job running in this one', async () => {
    const prefix = `cancel-on-x-${++seq}`;
    const worker = await start({ redis: server.url, prefix, visibilityTimeout: 3000 });
    const producer = await start({
      redis: server.url,
      prefix,
      visibilityTimeout: 3000,
      worker: false,
    });
    await producer.get(EventBus).emit('order.placed', { id: 'x' });
    const reminders = worker.get(Reminders);
    await waitFor(() => reminders.started.includes('x'), {
      message: 'job started in the worker app',
    });
    await producer.get(EventBus).emitAsync('order.cancelled', { id: 'x' });
    await waitFor(() => reminders.aborted.has('x'), { message: 'job aborted in the worker app' });
    expect(reminders.aborted.get('x')).toBeInstanceOf(JobCancelledError);
    const queues = producer.get(EventQueues);
    await waitFor(async () => (await queues.counts('reminders')).active === 0, {
      message: 'acked',
    });
    expect(await queues.counts('reminders')).toMatchObject({
      waiting: 0,
      delayed: 0,
      dead: 0,
      failed: 0,
    });
    expect(reminders.started).toEqual(['x']);
  });
});
