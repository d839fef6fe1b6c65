import { describe, expect, it } from 'vitest';
import type { NewJob, ReservedJob } from '../../lib/queue/queue-job.js';
import { waitFor } from '../support/wait-for.js';
import { useRedisTransports } from '../fixtures/use-redis-transports.js';

const rig = useRedisTransports({ reserveMs: 500 });
const { transport, take } = rig;

function job(id: string): NewJob {
  return { id, queue: 'q', listener: 'L.handle', payload: '{}', delayMs: 0 };
}

describe('Redis transport: heartbeats', () => {
  it('resolves with the jobs this worker no longer holds', async () => {
    const prefix = rig.prefix('beat-lost');
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
    const prefix = rig.prefix('beat-many');
    const visibility = 2000;
    const a = await transport(prefix, visibility);
    const b = await transport(prefix, visibility);
    const total = 20_000;
    for (let i = 0; i < total; i += 1000) {
      await a.enqueue(Array.from({ length: 1000 }, (_, k) => job(`j${i + k}`)));
    }
    const mine = await take(a, total);
    const since = await rig.now();
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
    await waitFor(async () => errors.length > 0 || (await rig.now()) - since > 2 * visibility, {
      timeoutMs: 60_000,
    });
    stop.abort();
    expect(await looked).toEqual([]);
    isBeating = false;
    await beating;
    expect(errors).toEqual([]);
    expect(lost).toEqual([]);
    const [count, , , consumers] = (await rig.redis.xpending(
      `${prefix}:{${prefix}:q}:stream`,
      'workers',
    )) as [number, string, string, [string, string][]];
    expect(count).toBe(total);
    expect(consumers).toEqual([[a.consumer, String(total)]]);
  }, 120_000);
});
