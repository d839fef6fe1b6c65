import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveEventsOptions } from 'nestjs-events';
import {
  createRedisQueueTransport,
  type RedisQueueTransport,
} from '../../lib/queue/redis/redis-queue.transport.js';
import type { NewJob, ReservedJob } from '../../lib/queue/queue-job.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

let server: RedisServer;
let redis: Redis;
let seq = 0;
const open: RedisQueueTransport[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function transport(prefix: string, visibilityTimeout: number): Promise<RedisQueueTransport> {
  const t = await createRedisQueueTransport(
    resolveEventsOptions({ redis: server.url, prefix, visibilityTimeout }, {}),
  );
  open.push(t);
  return t;
}

function job(id: string): NewJob {
  return { id, queue: 'q', listener: 'L.handle', payload: '{}', delayMs: 0 };
}

async function take(t: RedisQueueTransport, n: number): Promise<ReservedJob[]> {
  const got: ReservedJob[] = [];
  await waitFor(async () => {
    got.push(...(await t.reserve('q', n - got.length, AbortSignal.timeout(500))));
    return got.length >= n;
  });
  return got;
}

/** Redis's own clock, in ms. */
async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('Redis transport: heartbeats', () => {
  it('resolves with the jobs this worker no longer holds', async () => {
    const prefix = `beat-lost-${++seq}`;
    const a = await transport(prefix, 100);
    const b = await transport(prefix, 100);
    await a.enqueue([job('kept'), job('taken')]);
    const mine = await take(a, 2);
    const kept = mine.find((j) => j.id === 'kept')!;
    const taken = mine.find((j) => j.id === 'taken')!;
    // Only `kept` stays heartbeated: b reclaims `taken` after the visibility timeout.
    const beat = setInterval(() => void a.heartbeat([kept]), 20);
    try {
      const [theirs] = await take(b, 1);
      expect(theirs.id).toBe('taken');
    } finally {
      clearInterval(beat);
    }
    expect(await a.heartbeat([kept, taken])).toEqual([taken]);
    const acked = mine.find((j) => j.id === 'kept')!;
    await a.ack(acked);
    expect(await a.heartbeat([kept])).toEqual([kept]);
  });

  it('keeps 20,000 jobs of one queue held by one process from being reclaimed', async () => {
    const prefix = `beat-many-${++seq}`;
    const visibility = 2000;
    const a = await transport(prefix, visibility);
    const b = await transport(prefix, visibility);
    const total = 20_000;
    for (let i = 0; i < total; i += 1000) {
      await a.enqueue(Array.from({ length: 1000 }, (_, k) => job(`j${i + k}`)));
    }
    const mine = await take(a, total);
    const since = await redisNow();
    const beatStartedAt = performance.now();
    expect(await a.heartbeat(mine)).toEqual([]);
    process.stdout.write(
      `[measure] one heartbeat of ${total} jobs: ${Math.round(performance.now() - beatStartedAt)} ms\n`,
    );
    const lost: ReservedJob[] = [];
    const errors: unknown[] = [];
    let isBeating = true;
    const beating = (async () => {
      while (isBeating) {
        try {
          lost.push(...(await a.heartbeat(mine)));
        } catch (error) {
          errors.push(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    // b looks for abandoned jobs until two visibility timeouts have passed on Redis's clock.
    const stop = new AbortController();
    const looked = b.reserve('q', 100, stop.signal);
    await waitFor(async () => errors.length > 0 || (await redisNow()) - since > 2 * visibility, {
      timeoutMs: 60_000,
    });
    stop.abort();
    expect(await looked).toEqual([]);
    isBeating = false;
    await beating;
    expect(errors).toEqual([]);
    expect(lost).toEqual([]);
    const [count, , , consumers] = (await redis.xpending(
      `${prefix}:{${prefix}:q}:stream`,
      'workers',
    )) as [number, string, string, [string, string][]];
    expect(count).toBe(total);
    expect(consumers).toEqual([[a.consumer, String(total)]]);
  }, 120_000);
});
