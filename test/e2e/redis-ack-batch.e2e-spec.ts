import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEventsOptions, StaleJobError } from 'nestjs-events';
import { createRedisQueueTransport } from '../../lib/queue/redis/redis-queue.transport.js';
import type { NewJob, ReservedJob } from '../../lib/queue/queue-job.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('Redis transport: batched acknowledgements', () => {
  it('checks every receipt exactly when more than 1,000 entries are pending in the batch range', async () => {
    const transport = await createRedisQueueTransport(
      resolveEventsOptions({ redis: server.url, prefix: 'ack-batch' }, {}),
    );
    try {
      const total = 1200;
      const jobs: NewJob[] = Array.from({ length: total }, (_, i) => ({
        id: `job-${i}`,
        queue: 'q',
        listener: 'L.handle',
        payload: JSON.stringify({ i }),
        delayMs: 0,
      }));
      await transport.enqueue(jobs);
      const reserved: ReservedJob[] = [];
      while (reserved.length < total) {
        reserved.push(
          ...(await transport.reserve('q', total - reserved.length, AbortSignal.timeout(2000))),
        );
      }
      // Every tenth job: one batch whose range spans ~1,200 pending entries, more than the one
      // XPENDING page the script reads, so entries past it are checked one by one.
      const chosen = reserved.filter((_, i) => i % 10 === 0);
      const stale = { ...chosen[115], receipt: chosen[115].receipt.replace(/\/(\d+)$/, '/9') };
      const early = { ...chosen[3], receipt: chosen[3].receipt.replace(/\/(\d+)$/, '/9') };
      const outcomes = await Promise.allSettled(
        chosen.map((job, i) => transport.ack(i === 115 ? stale : i === 3 ? early : job)),
      );
      const refused = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
      expect(refused).toEqual([3, 115]);
      for (const i of refused) {
        expect((outcomes[i] as PromiseRejectedResult).reason).toBeInstanceOf(StaleJobError);
      }
      const counts = await transport.counts('q');
      expect(counts.completed).toBe(chosen.length - 2);
      expect(counts.active).toBe(total - chosen.length + 2);
    } finally {
      await transport.close();
    }
  });
});
