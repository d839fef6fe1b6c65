import { afterEach, describe, expect, it, vi } from 'vitest';
import { RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import type { NewJob, ReservedJob } from '../../lib/queue/queue-job.js';
import { waitFor } from '../support/wait-for.js';
import { useRedisTransports } from '../fixtures/use-redis-transports.js';

const rig = useRedisTransports({ reserveMs: 300 });
const { transport, take } = rig;
// Registered after the rig's: runs before the transports close (hooks unwind in reverse order).
afterEach(() => {
  vi.restoreAllMocks();
});

function job(id: string, delayMs = 0): NewJob {
  return { id, queue: 'q', listener: 'L.handle', payload: '{}', delayMs };
}

/** Waits until every pending entry of the prefix's queue has been idle at least `ms`. */
async function idleAtLeast(prefix: string, count: number, ms: number): Promise<void> {
  const stream = new RedisKeys(prefix).queue('q').stream;
  await waitFor(
    async () =>
      ((await rig.redis.xpending(stream, 'workers', 'IDLE', ms, '-', '+', count + 1)) as unknown[])
        .length === count,
  );
}

describe('Redis transport: reclaims', () => {
  it('never reclaims an entry its own worker still holds, however idle Redis sees it', async () => {
    const prefix = rig.prefix('own');
    // Reclaim passes run every visibilityTimeout / 2 (2 s); the reserve below spans one.
    const a = await transport(prefix, 4000);
    await a.enqueue([job('j1')]);
    const [mine] = await take(a, 1);
    expect(await a.heartbeat([mine])).toEqual([]);
    // As after a Redis freeze or restart: the entry looks idle for a minute, still a's.
    const [entry] = mine.receipt.split('/');
    const stream = new RedisKeys(prefix).queue('q').stream;
    await rig.redis.xclaim(stream, 'workers', a.consumer, 0, entry, 'IDLE', 60_000, 'JUSTID');
    expect(await a.reserve('q', 10, AbortSignal.timeout(3000))).toEqual([]);
    await a.ack(mine);
    expect(await a.counts('q')).toMatchObject({ completed: 1, active: 0 });
  });

  it('reclaims an entry of its own that its worker dropped (no heartbeat for visibilityTimeout)', async () => {
    const prefix = rig.prefix('dropped');
    const a = await transport(prefix, 100);
    await a.enqueue([job('j1')]);
    const [dropped] = await take(a, 1);
    await idleAtLeast(prefix, 1, 300);
    const [again] = await take(a, 1);
    expect(again).toMatchObject({ id: 'j1', attempt: 2 });
    await expect(a.ack(dropped)).rejects.toThrow(/no longer owned/);
    await a.ack(again);
    expect(await a.counts('q')).toMatchObject({ completed: 1, active: 0 });
  });

  it('reclaims an entry delivered before on its own, so a poison job takes no other job with it', async () => {
    const prefix = rig.prefix('alone');
    const first = await transport(prefix, 100);
    const second = await transport(prefix, 100);
    const third = await transport(prefix, 100);
    await first.enqueue(Array.from({ length: 5 }, (_, i) => job(`j${i}`)));
    await take(first, 5);
    // The first worker dies: its five first deliveries are reclaimed together.
    await idleAtLeast(prefix, 5, 100);
    const reclaimed = await take(second, 5);
    expect(reclaimed.map((j) => j.attempt)).toEqual([2, 2, 2, 2, 2]);
    // The second worker dies too (one of them is poison): now each goes alone.
    await idleAtLeast(prefix, 5, 100);
    const sizes: number[] = [];
    const got: ReservedJob[] = [];
    await waitFor(async () => {
      const batch = await third.reserve('q', 10, AbortSignal.timeout(300));
      if (batch.length > 0) sizes.push(batch.length);
      got.push(...batch);
      return got.length >= 5;
    });
    expect(sizes).toEqual([1, 1, 1, 1, 1]);
    expect(got.map((j) => j.attempt)).toEqual([3, 3, 3, 3, 3]);
    expect(got.map((j) => j.id).sort()).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
  });
});

describe("Redis transport: Redis's clock", () => {
  it('never promotes a delayed job or a retry early on a worker whose clock runs 5 s ahead', async () => {
    const prefix = rig.prefix('clock');
    const producer = await transport(prefix);
    const ahead = await transport(prefix);
    await producer.enqueue([job('retried')]);
    const [first] = await take(producer, 1);
    const delayedAt = await rig.now();
    await producer.enqueue([job('delayed', 2000)]);
    const retriedAt = await rig.now();
    await producer.retry(first, 2000, { reason: 'failed', message: 'x' });
    // Only `ahead` works from here: its Date.now() runs 5 s ahead of Redis's clock.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 5000);
    const startedAt = new Map<string, number>();
    await waitFor(
      async () => {
        for (const j of await ahead.reserve('q', 10, AbortSignal.timeout(300))) {
          startedAt.set(j.id, await rig.now());
        }
        return startedAt.size === 2;
      },
      { timeoutMs: 20_000 },
    );
    expect(startedAt.get('delayed')! - delayedAt).toBeGreaterThanOrEqual(2000);
    expect(startedAt.get('retried')! - retriedAt).toBeGreaterThanOrEqual(2000);
  });
});

describe('Redis transport: an ACL user without CLIENT ID', () => {
  it('leaks no connection and still reads when CLIENT ID is denied', async () => {
    const prefix = rig.prefix('acl');
    await rig.redis.call(
      'ACL',
      'SETUSER',
      'noid',
      'on',
      '>secret',
      '~*',
      '&*',
      '+@all',
      '-client|id',
    );
    const url = `redis://noid:secret@127.0.0.1:${rig.server.port}`;
    const connections = async (): Promise<number> =>
      ((await rig.redis.client('LIST')) as string)
        .split('\n')
        .filter((l) => l.includes(' user=noid')).length;
    const t = await transport(prefix, 30_000, { redis: url });
    await t.enqueue([job('j0')]);
    const [first] = await take(t, 1);
    await t.ack(first);
    const settled = await connections();
    for (let i = 1; i <= 5; i++) {
      await t.enqueue([job(`j${i}`)]);
      const [next] = await take(t, 1);
      expect(next.id).toBe(`j${i}`);
      await t.ack(next);
    }
    expect(await t.reserve('q', 1, AbortSignal.timeout(300))).toEqual([]);
    expect(await connections()).toBe(settled);
    expect(await t.counts('q')).toMatchObject({ completed: 6, active: 0 });
  });
});
