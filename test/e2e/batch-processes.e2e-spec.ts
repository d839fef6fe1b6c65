import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, OnEvent, ShouldQueue } from 'nestjs-events';
import { CONSUMER_GROUP, RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { useWorkerProcesses } from '../fixtures/processes/use-worker-processes.js';

/** The producer side: the listener of `batch-worker.mjs` (same id and queue), not run here. */
@Injectable()
class BatchListener {
  @OnEvent('batched.item')
  @ShouldQueue({ queue: 'batched', tries: 3, batch: { maxSize: 5, maxWaitMs: 20 } })
  handle(): void {}
}

const rig = useWorkerProcesses();
const apps: INestApplicationContext[] = [];
const JOBS = 40;
const HANG = 17;

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** The stream's pending entries by consumer, and whether any entry was never delivered. */
async function pending(prefix: string) {
  const stream = new RedisKeys(prefix).queue('batched').stream;
  const [count, , , consumers] = (await rig.redis.xpending(stream, CONSUMER_GROUP)) as [
    number,
    unknown,
    unknown,
    [string, string][] | null,
  ];
  const groups = (await rig.redis.xinfo('GROUPS', stream)) as unknown[][];
  const group = groups.find((g) => g[g.indexOf('name') + 1] === CONSUMER_GROUP) ?? [];
  return { count, consumers: consumers ?? [], lag: Number(group[group.indexOf('lag') + 1]) };
}

describe('batched handlers across worker processes', () => {
  it('handles every job exactly once over two processes, also when one is killed -9 mid-batch', async () => {
    const prefix = `batch-procs-${process.pid}`;
    const env = { VISIBILITY_MS: '2000', HANG: String(HANG) };
    const workers = [
      await rig.start('./batch-worker.mjs', prefix, env),
      await rig.start('./batch-worker.mjs', prefix, env),
    ];
    const app = await createTestApp(
      { providers: [BatchListener] },
      { redis: rig.server.url, prefix, worker: false },
    );
    apps.push(app);
    await app
      .get(EventBus)
      .emitMany(Array.from({ length: JOBS }, (_, i) => ({ name: 'batched.item', data: { i } })));
    const list = (name: string) => rig.redis.lrange(`${prefix}:test:${name}`, 0, -1);
    // The worker whose batch holds the hanging job's first attempt.
    let hungPid = '';
    await waitFor(async () => {
      const started = (await list('started')).find((s) => s.startsWith(`${HANG}:1:`));
      hungPid = started?.split(':')[2] ?? '';
      return hungPid !== '';
    });
    const hung = workers.find((w) => String(w.child.pid) === hungPid)!;
    const other = workers.find((w) => w !== hung)!;
    // Killed once every other job is handled and acknowledged: all that is left pending is what
    // the hung worker holds (its hung batch), and none of it was handled. Its other slot may still
    // run a batch (concurrency 2): pending then holds that one too, until it is acknowledged.
    let held = 0;
    await waitFor(
      async () => {
        // `done` first: it only grows, so if it and the pending entries read after it add up to
        // every job, each job not pending was handled before that read (none handled since).
        const done = (await list('done')).length;
        const hungBatch = await list('hung');
        const p = await pending(prefix);
        held = p.count;
        return (
          p.lag === 0 &&
          p.consumers.length === 1 &&
          hungBatch.length > 0 &&
          held === hungBatch.length &&
          done + held === JOBS
        );
      },
      { timeoutMs: 30_000, message: 'only the hung batch pending' },
    );
    expect(held).toBeGreaterThan(0);
    hung.child.kill('SIGKILL');
    await hung.exited;

    // The survivor reclaims the dead worker's jobs after the visibility timeout and runs them.
    await waitFor(async () => (await list('done')).length >= JOBS, {
      timeoutMs: 30_000,
      message: 'every job handled',
    });
    const done = await list('done');
    // Exactly once each: nothing acknowledged ran again, nothing was lost.
    expect(done.map((d) => Number(d.split(':')[0])).sort((a, b) => a - b)).toEqual(
      Array.from({ length: JOBS }, (_, i) => i),
    );
    const byItem = new Map(done.map((d) => d.split(':') as [string, string]));
    expect(byItem.get(String(HANG))).toBe(String(other.child.pid));
    const retried = (await list('started')).filter((s) => !s.includes(':1:'));
    expect(retried.length).toBe(held);
    for (const s of retried) expect(s.split(':')[2]).toBe(String(other.child.pid));
    expect(retried).toContain(`${HANG}:2:${other.child.pid}`);
    // The jobs ran in batches.
    expect(Math.max(...(await list('sizes')).map(Number))).toBeGreaterThan(1);
    await waitFor(async () => (await pending(prefix)).count === 0);
  }, 90_000);
});
