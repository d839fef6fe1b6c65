import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { useWorkerProcesses } from '../fixtures/processes/use-worker-processes.js';
import type { WorkerProcess } from '../fixtures/processes/worker-processes.js';

type Job = EventEnvelope<{ key: string; n: number; crash?: boolean }>;
const key = (e: Job): string => e.data.key;

/** The producer side: the listener ids and options of `flow-worker.mjs`, run there, not here. */
@Injectable()
class FlowListener {
  @OnEvent('flow.skip')
  @ShouldQueue({ queue: 'flow', tries: 3, singleton: { key, mode: 'skip' } })
  skip(): void {}

  @OnEvent('flow.cancel')
  @ShouldQueue({ queue: 'flow', tries: 3, singleton: { key, mode: 'cancel' } })
  cancel(): void {}

  @OnEvent('flow.collect')
  @ShouldQueue({ queue: 'flow', tries: 3, debounce: { key, delayMs: 300, collect: true } })
  collect(): void {}
}

const rig = useWorkerProcesses();
let seq = 0;

async function setup(visibilityMs: number): Promise<{
  prefix: string;
  bus: EventBus;
  app: INestApplicationContext;
  workers: WorkerProcess[];
}> {
  const prefix = `flowp-${++seq}`;
  const workers: WorkerProcess[] = [];
  for (let i = 0; i < 2; i++) {
    workers.push(
      await rig.start('./flow-worker.mjs', prefix, { VISIBILITY_MS: String(visibilityMs) }),
    );
  }
  const app = rig.track(
    await createTestApp(
      { providers: [FlowListener] },
      { redis: rig.server.url, prefix, visibilityTimeout: visibilityMs, worker: false },
    ),
  );
  return { prefix, bus: app.get(EventBus), app, workers };
}

const list = (k: string): Promise<string[]> => rig.redis.lrange(k, 0, -1);

describe('Singletons across worker processes (redis)', () => {
  it("mode 'cancel': an emit in another process aborts the job running in a worker process, which is not retried", async () => {
    const { prefix, bus, app } = await setup(3000);
    await bus.emit('flow.cancel', { key: 'a', n: 1 });
    await waitFor(async () => (await list(`${prefix}:test:started`)).length === 1, {
      message: 'job 1 started',
    });
    await bus.emit('flow.cancel', { key: 'a', n: 2 });
    await waitFor(async () => (await list(`${prefix}:test:aborted`)).length === 1, {
      message: 'job 1 aborted',
    });
    expect(await list(`${prefix}:test:aborted`)).toEqual(['1 JobCancelledError']);
    await waitFor(async () => (await list(`${prefix}:test:started`)).length === 2, {
      message: 'job 2 started',
    });
    await rig.redis.rpush(`${prefix}:test:release:2`, 'go');
    await waitFor(async () => (await list(`${prefix}:test:done`)).length === 1, {
      message: 'job 2 done',
    });
    const queues = app.get(EventQueues);
    await waitFor(async () => (await queues.counts('flow')).active === 0, { message: 'acked' });
    const started = (await list(`${prefix}:test:started`)).map((s) =>
      s.split(' ').slice(0, 2).join(' '),
    );
    expect(started).toEqual(['1 1', '2 1']);
    const counts = await queues.counts('flow');
    expect(counts).toMatchObject({ waiting: 0, delayed: 0, dead: 0, failed: 0 });
  }, 60_000);

  it('a worker killed (SIGKILL) while it holds a key keeps it until the visibility timeout: jobs of the key are skipped, then the key frees', async () => {
    const visibilityMs = 4000;
    const { prefix, bus, workers } = await setup(visibilityMs);
    await bus.emit('flow.skip', { key: 'k', n: 1, crash: true });
    await waitFor(async () => (await list(`${prefix}:test:started`)).length === 1, {
      message: 'job 1 started',
    });
    const [, , pid] = (await list(`${prefix}:test:started`))[0].split(' ');
    const crashed = workers.find((c) => String(c.child.pid) === pid);
    expect(crashed).toBeDefined();
    await crashed!.exited;
    const killedAt = Date.now();
    // Within the lease of the dead worker: the key is still held.
    await bus.emit('flow.skip', { key: 'k', n: 2 });
    // The job itself comes back after the visibility timeout, on the surviving worker.
    await waitFor(async () => (await list(`${prefix}:test:started`)).length === 2, {
      timeoutMs: 30_000,
      message: 'job 1 reclaimed',
    });
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(visibilityMs / 2);
    await rig.redis.rpush(`${prefix}:test:release:1`, 'go');
    await waitFor(async () => (await list(`${prefix}:test:done`)).length === 1, {
      message: 'job 1 done',
    });
    await waitFor(
      async () => (await rig.redis.exists(`${prefix}:mw:singleton:FlowListener.skip:k`)) === 0,
      {
        message: 'key released',
      },
    );
    await bus.emit('flow.skip', { key: 'k', n: 3 });
    await waitFor(async () => (await list(`${prefix}:test:started`)).length === 3, {
      message: 'job 3 started',
    });
    await rig.redis.rpush(`${prefix}:test:release:3`, 'go');
    const started = (await list(`${prefix}:test:started`)).map((s) =>
      s.split(' ').slice(0, 2).join(' '),
    );
    expect(started).toEqual(['1 1', '1 2', '3 1']);
  }, 90_000);
});

describe('Debounce collect across worker processes (redis)', () => {
  it('two worker processes run one key once with all its events; a worker killed mid-run: the retry elsewhere gets the same events', async () => {
    const visibilityMs = 3000;
    const { prefix, bus, app } = await setup(visibilityMs);
    await bus.emitMany([
      { name: 'flow.collect', data: { key: 'a', n: 1 } },
      { name: 'flow.collect', data: { key: 'b', n: 1 } },
      { name: 'flow.collect', data: { key: 'a', n: 2 } },
      { name: 'flow.collect', data: { key: 'c', n: 1, crash: true } },
      { name: 'flow.collect', data: { key: 'a', n: 3 } },
      { name: 'flow.collect', data: { key: 'c', n: 2 } },
    ]);
    const runs = async (): Promise<string[]> =>
      (await list(`${prefix}:test:collected`)).map((s) => s.split(' ').slice(0, 2).join(' '));
    // c's first attempt kills its worker; the retry on the surviving worker ends the test. Other
    // runs of that worker die with it and run again (same events): at least once.
    await waitFor(async () => (await runs()).includes('1,2 2'), {
      timeoutMs: 45_000,
      message: "c's retry",
    }).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; runs: ${(await runs()).join(' | ')}`);
    });
    const queues = app.get(EventQueues);
    await waitFor(
      async () => {
        const c = await queues.counts('flow');
        return c.waiting + c.delayed + c.active === 0;
      },
      { timeoutMs: 30_000, message: 'queue idle' },
    );
    const done = await runs();
    // Each key's events in one list (a: 1,2,3; b: 1; c: 1,2), never split or mixed.
    expect([...new Set(done.map((r) => r.split(' ')[0]))].sort()).toEqual(['1', '1,2', '1,2,3']);
    expect(done).toContain('1,2 1');
    expect(await queues.counts('flow')).toMatchObject({ dead: 0 });
  }, 90_000);
});
