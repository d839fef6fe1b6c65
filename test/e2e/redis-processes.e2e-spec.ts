import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { type WorkerProcess } from '../fixtures/processes/worker-processes.js';
import { useWorkerProcesses } from '../fixtures/processes/use-worker-processes.js';

/** The producer side: the same listener id as the worker processes', without running it. */
@Injectable()
class ProcessListener {
  @OnEvent('proc.job')
  @ShouldQueue({ queue: 'procs' })
  handle(): void {}
}

const rig = useWorkerProcesses();
let seq = 0;
const apps: INestApplicationContext[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function worker(
  prefix: string,
  env: { concurrency: number; visibilityMs: number; handlerMs: number },
): Promise<WorkerProcess> {
  return rig.start('./redis-worker.mjs', prefix, {
    CONCURRENCY: String(env.concurrency),
    VISIBILITY_MS: String(env.visibilityMs),
    HANDLER_MS: String(env.handlerMs),
  });
}

async function producer(prefix: string) {
  const app = await createTestApp(
    { providers: [ProcessListener] },
    { redis: rig.server.url, prefix, worker: false },
  );
  apps.push(app);
  return { bus: app.get(EventBus), queues: app.get(EventQueues) };
}

async function doneIds(prefix: string): Promise<string[]> {
  return (await rig.redis.lrange(`${prefix}:test:done`, 0, -1)).map((line) => line.split(' ')[0]);
}

describe('Redis transport: worker processes that die or freeze', () => {
  // Prioritized jobs wait in priority levels and are handed over by the take script (XCLAIM):
  // a worker killed after a take still leaves them pending to its consumer, reclaimed as others.
  it.each([
    ['plain', () => undefined],
    ['prioritized', (i: number) => ({ priority: (i % 3) + 1 })],
  ])(
    'loses no %s job when a worker is killed with -9 in the middle of its handlers',
    async (kind, options) => {
      const prefix = `kill-${kind}-${++seq}`;
      const { bus, queues } = await producer(prefix);
      // The first job waits unread in the stream: the later prioritized ones then wait in their
      // levels (into an empty queue, one batch would go straight to the stream in order).
      const sent = [await bus.emit('proc.job', { i: 0 })];
      sent.push(
        ...(await Promise.all(
          Array.from({ length: 199 }, (_, i) => bus.emit('proc.job', { i: i + 1 }, options(i))),
        )),
      );
      // Prioritized: levels 1-3, and level 0 for the first job, moved out of the stream.
      const levels = await rig.redis.zcard(`${prefix}:{${prefix}:procs}:levels`);
      expect(levels).toBe(kind === 'prioritized' ? 4 : 0);
      const first = await worker(prefix, { concurrency: 10, visibilityMs: 500, handlerMs: 20 });
      await waitFor(async () => (await rig.redis.llen(`${prefix}:test:done`)) >= 30);
      first.child.kill('SIGKILL');
      // Jobs it held in flight are pending until the visibility timeout; the second takes them.
      await worker(prefix, { concurrency: 10, visibilityMs: 500, handlerMs: 20 });
      await waitFor(async () => new Set(await doneIds(prefix)).size === sent.length, {
        timeoutMs: 20_000,
      });
      expect(new Set(await doneIds(prefix))).toEqual(new Set(sent.map((e) => e.id)));
      await waitFor(async () => (await queues.counts('procs')).active === 0);
      expect(await queues.counts('procs')).toMatchObject({ waiting: 0, dead: 0, failed: 0 });
    },
  );

  it('refuses the late acknowledgements of a frozen worker whose jobs were reclaimed', async () => {
    const prefix = `freeze-${++seq}`;
    const { bus, queues } = await producer(prefix);
    const frozen = await worker(prefix, { concurrency: 5, visibilityMs: 600, handlerMs: 400 });
    const sent = await Promise.all(
      Array.from({ length: 10 }, (_, i) => bus.emit('proc.job', { i })),
    );
    await waitFor(async () => (await rig.redis.llen(`${prefix}:test:started`)) >= 5);
    frozen.child.kill('SIGSTOP');
    await worker(prefix, { concurrency: 5, visibilityMs: 600, handlerMs: 10 });
    await waitFor(async () => (await queues.counts('procs')).completed === sent.length, {
      timeoutMs: 20_000,
    });
    frozen.child.kill('SIGCONT');
    // Its five late attempts are each fenced: a heartbeat finds the job taken and aborts the
    // attempt (lost-ownership), or the late acknowledgement is refused as stale.
    const fenced = (): number =>
      (frozen.output.match(/no longer owned|\(lost-ownership\)/g) ?? []).length;
    await waitFor(() => fenced() >= 5, { timeoutMs: 10_000 });
    expect(await queues.counts('procs')).toMatchObject({
      completed: sent.length,
      failed: 0,
      dead: 0,
      active: 0,
      waiting: 0,
    });
    expect(new Set(await doneIds(prefix))).toEqual(new Set(sent.map((e) => e.id)));
  });
});
