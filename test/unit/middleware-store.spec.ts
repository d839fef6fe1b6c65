import { describe, expect, it } from 'vitest';
import { MemoryCoordinationStore } from '../../lib/middleware/memory-coordination.store.js';

function clock(start = 1_000_000) {
  const c = { now: start };
  return { c, store: new MemoryCoordinationStore(() => c.now) };
}

describe('MemoryCoordinationStore', () => {
  it('hit: a sliding window of `limit` hits, then the wait until the oldest leaves it', async () => {
    const { c, store } = clock();
    expect(await store.hit('k', 2, 1000)).toBe(0);
    c.now += 400;
    expect(await store.hit('k', 2, 1000)).toBe(0);
    expect(await store.hit('k', 2, 1000)).toBe(600);
    c.now += 599;
    expect(await store.hit('k', 2, 1000)).toBe(1);
    c.now += 1;
    // The first hit left the window; refused hits were not recorded.
    expect(await store.hit('k', 2, 1000)).toBe(0);
    expect(await store.hit('k', 2, 1000)).toBe(400);
    expect(await store.hit('other', 2, 1000)).toBe(0);
  });

  it('acquire / extend / release: one holder at a time, until its lease ends', async () => {
    const { c, store } = clock();
    expect(await store.acquire('lock', 'a', 1000)).toEqual({ isAcquired: true, remainingMs: 0 });
    c.now += 300;
    expect(await store.acquire('lock', 'b', 1000)).toEqual({
      isAcquired: false,
      holder: 'a',
      remainingMs: 700,
    });
    expect(await store.extend('lock', 'b', 1000)).toBe(false);
    expect(await store.extend('lock', 'a', 1000)).toBe(true);
    await store.release('lock', 'b');
    expect(await store.get('lock')).toBe('a');
    c.now += 1000;
    // Expired: a worker that died no longer blocks anyone.
    expect(await store.acquire('lock', 'b', 1000)).toMatchObject({ isAcquired: true });
    expect(await store.extend('lock', 'a', 1000)).toBe(false);
    await store.release('lock', 'b');
    expect(await store.get('lock')).toBeUndefined();
  });

  it('set / get: a value until its ttl', async () => {
    const { c, store } = clock();
    await store.set('k', 'done', 50);
    expect(await store.get('k')).toBe('done');
    expect(await store.acquire('k', 'x', 10)).toMatchObject({ isAcquired: false, holder: 'done' });
    c.now += 50;
    expect(await store.get('k')).toBeUndefined();
  });

  it('forgets expired entries as it writes (memory stays bounded)', async () => {
    const { c, store } = clock();
    for (let i = 0; i < 5000; i++) {
      await store.set(`k${i}`, 'v', 10);
      await store.hit(`h${i}`, 1, 10);
      c.now += 1;
    }
    const sizes = store as unknown as { values: Map<string, unknown>; hits: Map<string, unknown> };
    expect(sizes.values.size).toBeLessThan(1100);
    expect(sizes.hits.size).toBeLessThan(1100);
  });
});
