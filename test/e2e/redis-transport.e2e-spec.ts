import { describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  resolveEventsOptions,
  StaleJobError,
  TransportError,
} from 'nestjs-events';
import { RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import type { NewJob } from '../../lib/queue/queue-job.js';
import { useRedisTransports } from '../fixtures/use-redis-transports.js';

const rig = useRedisTransports({ reserveMs: 200 });
const { transport, take } = rig;

function job(id: string, delayMs = 0, queue = 'q'): NewJob {
  return { id, queue, listener: 'L.handle', payload: JSON.stringify({ id }), delayMs };
}

describe('Redis transport: keys, fencing, scripts', () => {
  it('puts every key of a queue under the prefix and one hash tag', async () => {
    const prefix = rig.prefix('keys');
    const t = await transport(prefix);
    await t.enqueue([job('a'), job('b', 60_000)]);
    const [reserved] = await take(t, 1);
    await t.deadLetter(reserved, { reason: 'failed', message: 'x' });
    const keys = (await rig.redis.keys(`*${prefix}*`)).sort();
    const k = new RedisKeys(prefix).queue('q');
    expect(keys).toEqual(
      [`${prefix}:queues`, k.dead, k.deadIndex, k.deadInfo, k.delayed, k.stats, k.stream].sort(),
    );
    for (const key of [
      k.dead,
      k.deadIndex,
      k.deadInfo,
      k.delayed,
      k.stats,
      k.stream,
      k.started,
      k.paused,
    ]) {
      expect(key.startsWith(`${prefix}:{${prefix}:q}:`)).toBe(true);
    }
  });

  it('refuses every settle with a stale receipt once another worker reclaimed the job', async () => {
    const prefix = rig.prefix('fence');
    const a = await transport(prefix, 100);
    const b = await transport(prefix, 100);
    await a.enqueue([job('j1')]);
    const [mine] = await take(a, 1);
    expect(mine.attempt).toBe(1);
    // a stops heartbeating; b reclaims after the visibility timeout, which counts an attempt.
    const [theirs] = await take(b, 1);
    expect(theirs).toMatchObject({ id: 'j1', attempt: 2 });
    await expect(a.ack(mine)).rejects.toBeInstanceOf(StaleJobError);
    await expect(a.retry(mine, 0, { reason: 'failed', message: 'x' })).rejects.toBeInstanceOf(
      StaleJobError,
    );
    await expect(a.release(mine, 0)).rejects.toBeInstanceOf(StaleJobError);
    await expect(a.deadLetter(mine, { reason: 'failed', message: 'x' })).rejects.toBeInstanceOf(
      StaleJobError,
    );
    // A stale heartbeat must not steal the job back.
    await a.heartbeat([mine]);
    await b.ack(theirs);
    expect(await b.counts('q')).toMatchObject({
      completed: 1,
      failed: 0,
      dead: 0,
      active: 0,
      waiting: 0,
    });
  });

  it('keeps a heartbeated job from being reclaimed, and lets it go when the heartbeat stops', async () => {
    const prefix = rig.prefix('beat');
    // Heartbeats and the other worker share this process: the visibility timeout is many times
    // the heartbeat period, so a loaded event loop cannot starve the heartbeat past it.
    const visibilityMs = 1000;
    const a = await transport(prefix, visibilityMs);
    const b = await transport(prefix, visibilityMs);
    await a.enqueue([job('j1')]);
    const [mine] = await take(a, 1);
    let isBeating = true;
    let lastBeatAt = Date.now();
    const beating = (async () => {
      while (isBeating) {
        // Taken before the call: Redis resets the entry's idle time after this instant.
        lastBeatAt = Date.now();
        await a.heartbeat([mine]);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    try {
      // b looks for work over more than two visibility timeouts and finds none.
      const seen = await b.reserve('q', 1, AbortSignal.timeout(2.5 * visibilityMs));
      expect(seen).toEqual([]);
    } finally {
      isBeating = false;
      await beating;
    }
    const [theirs] = await take(b, 1);
    // Reclaimed only once the job went a whole visibility timeout without a heartbeat.
    expect(Date.now() - lastBeatAt).toBeGreaterThanOrEqual(visibilityMs);
    expect(theirs.attempt).toBe(2);
    await expect(a.ack(mine)).rejects.toBeInstanceOf(StaleJobError);
  });

  it('acknowledges concurrent completions in batches and deletes acknowledged entries', async () => {
    const prefix = rig.prefix('ack');
    const t = await transport(prefix);
    await t.enqueue(Array.from({ length: 50 }, (_, i) => job(`j${i}`)));
    const jobs = await take(t, 50);
    await rig.redis.config('RESETSTAT');
    await Promise.all(jobs.map((j) => t.ack(j)));
    const stats = await rig.redis.info('commandstats');
    // Script calls: EVAL the first time on a connection, EVALSHA after (see redis-script-call).
    const calls = (name: string): number =>
      Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    expect(calls('evalsha') + calls('eval')).toBeGreaterThan(0);
    expect(calls('evalsha') + calls('eval')).toBeLessThan(50);
    const k = new RedisKeys(prefix).queue('q');
    expect(await rig.redis.xlen(k.stream)).toBe(0);
    expect(await t.counts('q')).toMatchObject({ completed: 50, active: 0, waiting: 0 });
  });

  it('moves due delayed jobs and retries back in order, each in exactly one place', async () => {
    const prefix = rig.prefix('delay');
    const t = await transport(prefix);
    await t.enqueue([job('late', 300), job('soon', 100)]);
    expect(await t.counts('q')).toMatchObject({ delayed: 2, waiting: 0 });
    const got = await take(t, 2);
    expect(got.map((j) => j.id)).toEqual(['soon', 'late']);
    await t.retry(got[0], 50, { reason: 'failed', message: 'x' });
    await t.release(got[1], 0);
    expect(await t.counts('q')).toMatchObject({ failed: 1, active: 0 });
    const again = await take(t, 2);
    expect(again.map((j) => [j.id, j.attempt])).toEqual([
      ['late', 1],
      ['soon', 2],
    ]);
    expect(await t.counts('q')).toMatchObject({ delayed: 0, waiting: 0, active: 2 });
  });

  it('lists, retries by id and purges dead jobs', async () => {
    const prefix = rig.prefix('dead');
    const t = await transport(prefix);
    await t.enqueue([job('d1'), job('d2')]);
    for (const j of await take(t, 2)) {
      await t.deadLetter(j, { reason: 'failed', message: `boom ${j.id}`, stack: 'at x' });
    }
    const dead = await t.listDead('q', 0, 10);
    expect(dead.map((d) => [d.id, d.attempts, d.reason, d.error, d.stack])).toEqual([
      ['d1', 1, 'failed', 'boom d1', 'at x'],
      ['d2', 1, 'failed', 'boom d2', 'at x'],
    ]);
    expect(await t.retryDead('q', 'd2')).toBe(1);
    expect(await t.retryDead('q', 'd2')).toBe(0);
    const [back] = await take(t, 1);
    expect(back).toMatchObject({ id: 'd2', attempt: 1, payload: JSON.stringify({ id: 'd2' }) });
    expect(await t.purgeDead('q')).toBe(1);
    expect(await t.counts('q')).toMatchObject({ dead: 0, failed: 2 });
  });

  it('fails enqueue with TransportError within redisCommandTimeout when Redis stalls', async () => {
    const t = await transport(rig.prefix('stall'), 30_000, { redisCommandTimeout: 200 });
    rig.server.pause();
    try {
      await expect(t.enqueue([job('x')])).rejects.toBeInstanceOf(TransportError);
    } finally {
      rig.server.resume();
    }
    await t.enqueue([job('y')]);
  });

  it('validates redisCommandTimeout', () => {
    expect(() => resolveEventsOptions({ redisCommandTimeout: 0 }, {})).toThrow(InvalidOptionError);
    expect(() => resolveEventsOptions({}, { EVENTS_REDIS_COMMAND_TIMEOUT_MS: 'soon' })).toThrow(
      /EVENTS_REDIS_COMMAND_TIMEOUT_MS/,
    );
    expect(resolveEventsOptions({}, {}).redisCommandTimeout).toBe(5000);
  });
});
