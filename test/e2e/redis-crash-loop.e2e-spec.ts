import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { type WorkerProcess } from '../fixtures/processes/worker-processes.js';
import { useWorkerProcesses } from '../fixtures/processes/use-worker-processes.js';

const TRIES = 2;
/** The deliveries past `tries` that a job whose worker died still gets (README, at-least-once). */
const EXTRA_DELIVERIES = 2;

/** The producer side: the same listener id as the worker processes', without running it. */
@Injectable()
class CrashListener {
  @OnEvent('crash.job')
  @ShouldQueue({ queue: 'crash', tries: TRIES })
  handle(): void {}
}

const rig = useWorkerProcesses();
const apps: INestApplicationContext[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function worker(prefix: string): Promise<WorkerProcess> {
  return rig.start('./crash-worker.mjs', prefix, {
    VISIBILITY_MS: '1000',
    TRIES: String(TRIES),
  });
}

/** The `[eventId, attempt]` of each line of a list the worker processes write. */
async function entries(key: string): Promise<[string, number][]> {
  return (await rig.redis.lrange(key, 0, -1)).map((line) => {
    const [id, attempt] = line.split(' ');
    return [id, Number(attempt)];
  });
}

describe('Redis transport: a job that kills its worker process every time', () => {
  it(`runs ${TRIES} + ${EXTRA_DELIVERIES} times across restarts, then goes to dead letters; other jobs are unaffected`, async () => {
    const prefix = `crash-${process.pid}`;
    const producer = await createTestApp(
      { providers: [CrashListener] },
      { redis: rig.server.url, prefix, worker: false },
    );
    apps.push(producer);
    const bus = producer.get(EventBus);
    const queues = producer.get(EventQueues);
    const before = await Promise.all([1, 2, 3].map((i) => bus.emit('crash.job', { i })));
    const poison = await bus.emit('crash.job', { crash: true });
    const after = await Promise.all([4, 5, 6].map((i) => bus.emit('crash.job', { i })));

    // Restart the worker each time its job killed it, as a process manager would.
    let current = await worker(prefix);
    const deaths: (number | string)[] = [];
    await waitFor(
      async () => {
        if ((await queues.counts('crash')).dead > 0) return true;
        if (current.child.exitCode !== null || current.child.signalCode !== null) {
          deaths.push(await current.exited);
          current = await worker(prefix);
        }
        return false;
      },
      { timeoutMs: 120_000, intervalMs: 50, message: 'the crashing job in dead letters' },
    );

    const normal = [...before, ...after].map((e) => e.id);
    await waitFor(
      async () => {
        const done = new Set((await entries(`${prefix}:test:done`)).map(([id]) => id));
        return normal.every((id) => done.has(id));
      },
      { timeoutMs: 30_000, message: 'every other job done' },
    );

    // The dead letter: the crashing job, after tries + 2 deliveries that all ended in a death.
    const dead = await queues.listDead('crash');
    expect(dead).toHaveLength(1);
    expect(dead[0].error).toContain(`Attempts used up: ${TRIES + EXTRA_DELIVERIES} attempt(s)`);
    // The payload is a string today, parsed once dead letters are shown back parsed.
    expect(JSON.stringify(dead[0].payload)).toContain(poison.id);
    // Each delivery that ran killed its process; none ran after the dead-letter decision.
    const runs = (await entries(`${prefix}:test:started`)).filter(([id]) => id === poison.id);
    expect(runs.length).toBeGreaterThan(TRIES);
    expect(runs.length).toBeLessThanOrEqual(TRIES + EXTRA_DELIVERIES);
    expect(Math.max(...runs.map(([, attempt]) => attempt))).toBeLessThanOrEqual(
      TRIES + EXTRA_DELIVERIES,
    );
    expect(deaths).toHaveLength(runs.length);
    expect(deaths.every((d) => d === 'SIGKILL')).toBe(true);
    expect(await rig.redis.lrange(`${prefix}:test:failed`, 0, -1)).toEqual([poison.id]);

    // The other jobs ran to completion, none dead; the last worker lives on.
    expect((await entries(`${prefix}:test:done`)).map(([id]) => id)).not.toContain(poison.id);
    expect(await queues.counts('crash')).toMatchObject({ dead: 1, waiting: 0, delayed: 0 });
    expect(current.child.exitCode).toBeNull();
    expect(current.child.signalCode).toBeNull();
  }, 180_000);
});
