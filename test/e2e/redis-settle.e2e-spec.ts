import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveEventsOptions, SettleOutcomeUnknownError, TransportError } from 'nestjs-events';
import {
  createRedisQueueTransport,
  type RedisQueueTransport,
} from '../../lib/queue/redis/redis-queue.transport.js';
import type { ReservedJob } from '../../lib/queue/queue-job.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

let server: RedisServer;
let seq = 0;
const open: RedisQueueTransport[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  server?.resume();
  await server?.stop();
});
afterEach(async () => {
  server.resume();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function transport(prefix: string): Promise<RedisQueueTransport> {
  const t = await createRedisQueueTransport(
    resolveEventsOptions({ redis: server.url, prefix, redisCommandTimeout: 300 }, {}),
  );
  open.push(t);
  return t;
}

async function take(t: RedisQueueTransport, n: number): Promise<ReservedJob[]> {
  const got: ReservedJob[] = [];
  await waitFor(async () => {
    got.push(...(await t.reserve('q', n - got.length, AbortSignal.timeout(300))));
    return got.length >= n;
  });
  return got;
}

describe('Redis transport: settles without a reply', () => {
  it('reports a settle whose reply was lost as of unknown outcome, not as a failure', async () => {
    const t = await transport(`unknown-${++seq}`);
    const jobs = ['a', 'b', 'c'].map((id) => ({
      id,
      queue: 'q',
      listener: 'L.handle',
      payload: '{}',
      delayMs: 0,
    }));
    await t.enqueue(jobs);
    const [acked, retried, dead] = await take(t, 3);
    server.pause();
    const outcomes = await Promise.allSettled([
      t.ack(acked),
      t.retry(retried, 0, { reason: 'failed', message: 'x' }),
      t.deadLetter(dead, { reason: 'failed', message: 'x' }),
    ]);
    server.resume();
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason as SettleOutcomeUnknownError;
      expect(error).toBeInstanceOf(SettleOutcomeUnknownError);
      expect(error).toBeInstanceOf(TransportError);
      expect(error.code).toBe('EVENTS_SETTLE_OUTCOME_UNKNOWN');
      expect(error.message).toMatch(/outcome unknown/);
      expect(error.message).not.toMatch(/ failed/);
    }
    expect((outcomes[0] as PromiseRejectedResult).reason.jobIds).toEqual(['a']);
    // Redis carried every one of them out once it thawed.
    await waitFor(async () => {
      const c = await t.counts('q');
      return c.completed === 1 && c.dead === 1 && c.failed === 2;
    });
    expect(await t.counts('q')).toMatchObject({ completed: 1, dead: 1, failed: 2, waiting: 1 });
  });
});
