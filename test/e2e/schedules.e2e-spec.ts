import type { INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBus, InvalidScheduleError, type EventsModuleOptions } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { TickListener, type Seen } from '../fixtures/schedule.fixtures.js';

describe.each(['memory', 'redis'] as const)('scheduled events on %s', (kind) => {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  let apps: INestApplicationContext[] = [];
  let seq = 0;
  let prefix = '';
  const count = kind === 'redis' ? 3 : 1;

  beforeAll(async () => {
    if (kind === 'memory') return;
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  afterEach(async () => {
    await closeAll();
  });

  /** Starts the apps of this test (three sharing one prefix on Redis, one on memory). */
  async function startAll(options: EventsModuleOptions = {}): Promise<void> {
    const redisOptions = server ? { redis: server.url, prefix } : {};
    apps = await Promise.all(
      Array.from({ length: count }, () =>
        createTestApp({ providers: [TickListener] }, { ...redisOptions, ...options }),
      ),
    );
  }

  async function closeAll(): Promise<void> {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  }

  const bus = () => apps[0].get(EventBus);
  const emitted = (): Seen[] =>
    apps
      .flatMap((app) => app.get(TickListener).emitted)
      .sort((a, b) => a.scheduledFor - b.scheduledFor);
  const queued = (): Seen[] => apps.flatMap((app) => app.get(TickListener).queued);
  const of = (list: Seen[], id: string) => list.filter((s) => s.scheduleId === id);
  /** The transport's clock: Redis's, or this process's. */
  const clock = async (): Promise<number> => {
    if (!redis) return Date.now();
    const [s, us] = await redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  /** Each occurrence once, in order, one period apart, never emitted before it was due. */
  function expectExactlyOnce(list: Seen[], periodMs: number): void {
    const times = list.map((s) => s.scheduledFor);
    expect(new Set(times).size).toBe(times.length);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(periodMs);
    for (const s of list) expect(s.timestamp).toBeGreaterThanOrEqual(s.scheduledFor);
  }

  beforeEach(() => {
    prefix = `sched-${process.pid}-${++seq}`;
  });

  it('emits each occurrence of an every: 1000 and a six-field cron schedule once across the apps', async () => {
    await startAll();
    const grace = { misfireGraceMs: 60_000 };
    await bus().schedule('tick.every', { n: 1 }, { id: 'every', every: 1000, ...grace });
    await apps[count - 1]
      .get(EventBus)
      .schedule('tick.cron', undefined, { id: 'cron', cron: '* * * * * *', ...grace });
    await waitFor(() => of(emitted(), 'every').length >= 4 && of(emitted(), 'cron').length >= 4, {
      timeoutMs: 20_000,
    });
    expectExactlyOnce(of(emitted(), 'every'), 1000);
    expectExactlyOnce(of(emitted(), 'cron'), 1000);
    for (const s of of(emitted(), 'cron')) expect(s.scheduledFor % 1000).toBe(0);
    // Queued listeners get one job per occurrence, run by one app.
    await waitFor(() => queued().length >= emitted().length);
    const jobs = queued().map((s) => s.id);
    expect(new Set(jobs).size).toBe(jobs.length);
    expect(of(emitted(), 'every')[0].data).toEqual({ n: 1 });
    const listed = await bus().schedules();
    expect(listed.map((s) => [s.id, s.name, s.rule.kind])).toEqual(
      expect.arrayContaining([
        ['every', 'tick.every', 'every'],
        ['cron', 'tick.cron', 'cron'],
      ]),
    );
    expect(listed).toHaveLength(2);
    if (kind === 'redis') expect(new Set(emitted().map((s) => s.id)).size).toBe(emitted().length);
  });

  it('replaces a schedule scheduled again under its id, and stops one unscheduled', async () => {
    await startAll();
    await bus().schedule('tick.a', { v: 1 }, { id: 'same', every: 1000 });
    await waitFor(() => of(emitted(), 'same').length >= 1);
    await bus().schedule('tick.b', { v: 2 }, { id: 'same', every: 1000 });
    expect((await bus().schedules()).map((s) => [s.id, s.name])).toEqual([['same', 'tick.b']]);
    await waitFor(() => emitted().some((s) => (s.data as { v: number }).v === 2));
    const switched = emitted().findIndex((s) => (s.data as { v: number }).v === 2);
    expect(
      emitted()
        .slice(switched)
        .every((s) => (s.data as { v: number }).v === 2),
    ).toBe(true);

    expect(await bus().unschedule('same')).toBe(true);
    expect(await bus().unschedule('same')).toBe(false);
    const stoppedAt = await clock();
    // A later marker: once it fired, the removed schedule would have fired too.
    await bus().schedule('tick.marker', undefined, { at: stoppedAt + 1500 });
    await waitFor(() => emitted().some((s) => s.scheduleId !== 'same'), { timeoutMs: 10_000 });
    expect(of(emitted(), 'same').filter((s) => s.scheduledFor > stoppedAt)).toEqual([]);
    expect(await bus().schedules()).toEqual([]);
  });

  it('cancels a pending at, and fires one at once, not before its time', async () => {
    await startAll();
    const now = await clock();
    const id = await bus().schedule('tick.once', { x: 1 }, { at: new Date(now + 800) });
    const cancelled = await bus().schedule('tick.never', undefined, { at: now + 900 });
    expect(await bus().unschedule(cancelled)).toBe(true);
    await waitFor(() => of(emitted(), id).length === 1);
    expect(of(emitted(), id)[0].scheduledFor).toBe(now + 800);
    expect(of(emitted(), id)[0].timestamp).toBeGreaterThanOrEqual(now + 800);
    await bus().schedule('tick.marker', undefined, { at: now + 1200 });
    await waitFor(() => emitted().some((s) => s.data === undefined));
    expect(emitted().filter((s) => s.scheduleId === cancelled)).toEqual([]);
    expect(await bus().schedules()).toEqual([]);
  });

  it('refuses bad schedules with a typed error naming the field, storing nothing', async () => {
    await startAll();
    const refused = async (promise: Promise<unknown>, field: string) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidScheduleError);
      expect((error as InvalidScheduleError).field).toBe(field);
    };
    await refused(
      bus().schedule('tick.x', undefined, { id: 'x', cron: '0 99 * * *' }),
      'cron.hour',
    );
    await refused(
      bus().schedule('tick.x', undefined, { id: 'x', cron: '* * * * *', tz: 'Nowhere/City' }),
      'tz',
    );
    await refused(bus().schedule('tick.x', undefined, { at: new Date('invalid') }), 'at');
    await refused(bus().schedule('tick.x', undefined, { id: 'x', every: 500 }), 'every');
    await expect(bus().schedule('bad..name', undefined, { id: 'x', every: 1000 })).rejects.toThrow(
      /name/,
    );
    expect(await bus().schedules()).toEqual([]);
    await expect(
      startAll({ schedules: [{ name: 'tick.x', every: 1000 } as never] }),
    ).rejects.toBeInstanceOf(InvalidScheduleError);
  });

  it.skipIf(kind === 'memory')('keeps schedules across a restart of every app', async () => {
    await startAll();
    await bus().schedule('tick.every', undefined, {
      id: 'kept',
      every: 1000,
      misfireGraceMs: 60_000,
    });
    await bus().schedule('tick.cron', undefined, {
      id: 'kept-cron',
      cron: '*/1 * * * * *',
      misfireGraceMs: 60_000,
    });
    await waitFor(
      () => of(emitted(), 'kept').length >= 2 && of(emitted(), 'kept-cron').length >= 2,
    );
    const before = emitted();
    await closeAll();
    await startAll();
    await waitFor(
      () => of(emitted(), 'kept').length >= 2 && of(emitted(), 'kept-cron').length >= 2,
    );
    const all = [...before, ...emitted()].sort((a, b) => a.scheduledFor - b.scheduledFor);
    // The grace is long: the occurrences due while every app was down are each emitted once, late.
    expectExactlyOnceAllowingLate(of(all, 'kept'));
    expectExactlyOnceAllowingLate(of(all, 'kept-cron'));
  });

  function expectExactlyOnceAllowingLate(list: Seen[]): void {
    const times = list.map((s) => s.scheduledFor);
    expect(new Set(times).size).toBe(times.length);
    for (const s of list) expect(s.timestamp).toBeGreaterThanOrEqual(s.scheduledFor);
  }

  describe.skipIf(kind === 'memory')(
    'misfire, after every app was down for more than 3 periods',
    () => {
      it.each(['once', 'skip'] as const)('misfire: %s', async (misfire) => {
        const declared = {
          schedules: [{ id: 'm', name: 'tick.m', every: 1000, misfire, misfireGraceMs: 300 }],
        };
        await startAll(declared);
        await waitFor(() => of(emitted(), 'm').length >= 2);
        const lastBefore = Math.max(...of(emitted(), 'm').map((s) => s.scheduledFor));
        await closeAll();
        await waitFor(async () => (await clock()) > lastBefore + 3600, { timeoutMs: 10_000 });
        const bootAt = await clock();
        await startAll(declared);
        await waitFor(() => of(emitted(), 'm').some((s) => s.scheduledFor > bootAt + 1000));
        // Only the apps started again: what they emitted, in order of occurrence.
        const after = of(emitted(), 'm');
        const missed = Math.floor((bootAt - lastBefore) / 1000); // occurrences due while down
        expect(missed).toBeGreaterThanOrEqual(3);
        expectExactlyOnceAllowingLate(after);
        if (misfire === 'once') {
          // The missed ones as one emit (the latest of them, which may fall after bootAt when the
          // boot took more than a period): the first emit is a late catch-up, standing for
          // earlier occurrences that were not emitted one by one.
          const [first] = after;
          expect(first.scheduledFor).toBeGreaterThan(lastBefore + 1000);
          expect(first.timestamp).toBeGreaterThanOrEqual(bootAt);
          expect(first.timestamp - first.scheduledFor).toBeGreaterThan(300);
        } else {
          // Only an occurrence still within its grace when claimed (claims start after bootAt).
          expect(after.filter((s) => s.scheduledFor < bootAt - 300)).toEqual([]);
        }
      });
    },
  );
});
