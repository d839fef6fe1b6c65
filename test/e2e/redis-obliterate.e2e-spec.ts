import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { collectWatch } from '../support/watch-collector.js';

/** A tagged class event whose listener always fails: its job dies with tags. */
class ReportFailed {
  static readonly eventName = 'report.failed';
  constructor(readonly tenant: string) {}
  tags(): string[] {
    return [`tenant:${this.tenant}`];
  }
}

/**
 * Every kind of key a queue can hold: groups with slots and rate limits, dead tags, and (on a
 * queue of their own: they do not combine with groups) priority levels.
 */
@Injectable()
class ReportListeners {
  @OnEvent('report.requested')
  @ShouldQueue({
    queue: 'reports',
    group: (e: EventEnvelope<{ tenant: string }>) => e.data.tenant,
    groupConcurrency: 1,
    groupRateLimit: { max: 100, durationMs: 60_000 },
  })
  build(): void {}

  @OnEvent('report.ranked')
  @ShouldQueue({ queue: 'ranks' })
  ranked(): void {}

  @OnEvent(ReportFailed)
  @ShouldQueue({ queue: 'reports', tries: 1 })
  fail(): void {
    throw new Error('no report');
  }
}

/** `EventQueues.obliterate` on Redis leaves no key of the queue behind. */
describe('obliterate on Redis', { timeout: 60_000 }, () => {
  let server: RedisServer;
  let redis: Redis;
  const apps: INestApplicationContext[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  /** Every key of the queue, by its hash tag (SCAN: a test's own server, never a hot path). */
  async function keysOf(prefix: string, queue: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:{${prefix}:${queue}}*`);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found.sort();
  }

  it("removes every key of the queue, the watch's stream and flag included", async () => {
    const prefix = 'obliterate-keys';
    const options = { redis: server.url, prefix };
    const producer = await createTestApp(
      { providers: [ReportListeners] },
      { ...options, worker: false },
    );
    apps.push(producer);
    const bus = producer.get(EventBus);
    const queues = producer.get(EventQueues);
    // A watch while jobs enter groups and levels: they are copied to the queue's watch stream.
    const { seen, stop } = await collectWatch(
      queues,
      { queues: ['reports', 'ranks'] },
      (entry) => entry.type,
    );
    try {
      await bus.emit('report.requested', { tenant: 'acme' });
      await bus.emit('report.requested', { tenant: 'globex' });
      await bus.emit('report.ranked', {}, { priority: 5 });
      await bus.emit('report.ranked', {}, { priority: -5, delay: 60_000 });
      await bus.emit('report.requested', { tenant: 'acme' }, { delay: 60_000 });
      await bus.emit(new ReportFailed('acme'));
      await queues.pauseGroup('reports', 'initech');
      await waitFor(() => seen.length >= 4, { timeoutMs: 20_000, message: 'the jobs watched' });

      // A worker runs what it can: group slots, rate-limit starts, stats, a tagged dead letter.
      const worker = await createTestApp({ providers: [ReportListeners] }, options);
      apps.push(worker);
      await waitFor(
        async () => {
          const [reports, ranks] = await Promise.all([
            queues.counts('reports'),
            queues.counts('ranks'),
          ]);
          return reports.completed === 2 && reports.dead === 1 && ranks.completed === 1;
        },
        { timeoutMs: 20_000, message: 'the ready jobs settled' },
      );
    } finally {
      await stop();
    }
    // Stopped first: a reading worker would make the queue's stream and group again.
    await apps.pop()?.close();
    const tag = `${prefix}:{${prefix}:reports}`;
    expect(await keysOf(prefix, 'reports')).toEqual(
      expect.arrayContaining([`${tag}:watch`, `${tag}:g:paused`, `${tag}:gq:acme:starts`]),
    );
    for (const queue of ['reports', 'ranks']) {
      const before = await keysOf(prefix, queue);
      expect(before).toContain(`${prefix}:{${prefix}:${queue}}:watching`);
      // The delayed jobs, and the dead letter of "reports".
      expect(await queues.obliterate(queue, { force: true })).toBe(queue === 'reports' ? 2 : 1);
      expect(await keysOf(prefix, queue)).toEqual([]);
      expect(await redis.sismember(`${prefix}:queues`, queue)).toBe(0);
    }
  });
});
