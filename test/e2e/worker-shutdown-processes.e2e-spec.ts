import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { type WorkerProcess } from '../fixtures/processes/worker-processes.js';
import { useWorkerProcesses } from '../fixtures/processes/use-worker-processes.js';

/** The producer side: the worker processes' listener id, without running it. */
@Injectable()
class OrderListener {
  @OnEvent('order.placed')
  @ShouldQueue({ queue: 'orders', tries: 1 })
  handle(): void {}
}

const rig = useWorkerProcesses();
let producer: INestApplicationContext | undefined;

afterEach(async () => {
  await producer?.close();
  producer = undefined;
});

async function worker(prefix: string): Promise<WorkerProcess> {
  return rig.start('./shutdown-worker.mjs', prefix);
}

describe('Worker process: SIGTERM while jobs keep arriving', () => {
  it('calls no handler once its pool closed, dead-letters nothing, and the next worker handles every job', async () => {
    const prefix = `sigterm-${process.pid}`;
    producer = await createTestApp(
      { providers: [OrderListener] },
      { redis: rig.server.url, prefix, worker: false },
    );
    const bus = producer.get(EventBus);
    const queues = producer.get(EventQueues);
    const first = await worker(prefix);
    let emitted = 0;
    let isEmitting = true;
    const emitting = (async () => {
      while (isEmitting) {
        await Promise.all(
          Array.from({ length: 10 }, () => bus.emit('order.placed', { n: emitted++ })),
        );
      }
    })();
    const done = (): Promise<number> => rig.redis.llen(`${prefix}:test:done`);
    await waitFor(async () => (await done()) >= 300, { timeoutMs: 30_000 });
    first.child.kill('SIGTERM');
    await first.exited;
    const doneBySigterm = await done();
    await waitFor(() => emitted >= doneBySigterm + 300, { timeoutMs: 30_000 });
    isEmitting = false;
    await emitting;

    expect(await rig.redis.llen(`${prefix}:test:closed`)).toBe(1);
    expect(await rig.redis.lrange(`${prefix}:test:after-close`, 0, -1)).toEqual([]);
    expect((await queues.counts('orders')).dead).toBe(0);

    await worker(prefix);
    await waitFor(async () => (await queues.counts('orders')).completed === emitted, {
      timeoutMs: 60_000,
      message: 'every job handled by the next worker',
    });
    const handled = await rig.redis.lrange(`${prefix}:test:done`, 0, -1);
    expect(new Set(handled).size).toBe(emitted);
    expect(await queues.counts('orders')).toMatchObject({ waiting: 0, active: 0, dead: 0 });
  }, 180_000);
});
