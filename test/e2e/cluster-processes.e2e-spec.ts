import { Cluster } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsClient, type EventEnvelope } from 'nestjs-events';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait-for.js';
import { useWorkerPool } from '../fixtures/processes/use-worker-pool.js';
import type { WorkerProcess } from '../fixtures/processes/worker-processes.js';

const pool = useWorkerPool();
let cluster: RedisCluster;
let redis: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = new Cluster(cluster.startupNodes);
}, 120_000);
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

function startWorker(prefix: string): Promise<WorkerProcess> {
  return pool.start('./events-server-worker.mjs', {
    REDIS_CLUSTER: JSON.stringify(cluster.startupNodes),
    PREFIX: prefix,
    CONCURRENCY: '8',
    VISIBILITY_MS: '800',
    HANDLER_MS: '15',
  });
}

async function doneIds(prefix: string): Promise<Set<string>> {
  const lines = await redis.lrange(`{${prefix}:test}:done`, 0, -1);
  return new Set(lines.map((line) => line.split(' ')[0]));
}

describe('Redis Cluster: worker processes', () => {
  it('loses no event when a worker is killed with -9 in the middle of its handlers', async () => {
    const prefix = `cluster-kill-${process.pid}`;
    const client = pool.track(
      new EventsClient({ redis: { cluster: cluster.startupNodes }, prefix }),
    );
    const sent = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        lastValueFrom(client.emit<EventEnvelope>('job.run', { i })),
      ),
    );
    const first = await startWorker(prefix);
    await waitFor(async () => (await doneIds(prefix)).size >= 40, { timeoutMs: 30_000 });
    first.child.kill('SIGKILL');
    await first.exited;
    // What it held (inbound fan-outs and jobs) stays pending until the visibility timeout.
    await startWorker(prefix);
    await waitFor(async () => (await doneIds(prefix)).size === sent.length, { timeoutMs: 30_000 });
    expect(await doneIds(prefix)).toEqual(new Set(sent.map((e) => e.id)));
  }, 90_000);
});
