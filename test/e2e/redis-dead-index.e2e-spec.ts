import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

@Injectable()
class FailingMailer {
  @OnEvent('mail.*')
  @ShouldQueue({ queue: 'emails', tries: 1 })
  send(_event: EventEnvelope) {
    throw new Error('smtp down');
  }
}

describe('Redis dead letters: the job id index', () => {
  let server: RedisServer;
  let redis: Redis;
  const apps: INestApplicationContext[] = [];
  let seq = 0;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  async function deadMails(n: number) {
    const prefix = `dead-index-${++seq}`;
    const app = await createTestApp({ providers: [FailingMailer] }, { redis: server.url, prefix });
    apps.push(app);
    const bus = app.get(EventBus);
    const queues = app.get(EventQueues);
    for (let i = 0; i < n; i++) await bus.emit('mail.sent', { i });
    await queues.drain();
    const base = `${prefix}:{${prefix}:emails}`;
    return { queues, dead: `${base}:dead`, index: `${base}:dead-index` };
  }

  it('indexes every dead job by id, and the index follows retry, forget and purge', async () => {
    const { queues, dead, index } = await deadMails(3);
    const [a, b, c] = await queues.listDead('emails');
    const entries = (await redis.xrange(dead, '-', '+')).map(([entry]) => entry);
    expect(await redis.hgetall(index)).toEqual({
      [a.id]: entries[0],
      [b.id]: entries[1],
      [c.id]: entries[2],
    });
    expect(await queues.forgetDead('emails', a.id)).toBe(true);
    expect(await redis.hexists(index, a.id)).toBe(0);
    expect(await queues.purgeDead('emails')).toBe(2);
    expect(await redis.exists(dead, index)).toBe(0);
  });

  it('finds dead jobs written before the index existed by a scan', async () => {
    const { queues, dead, index } = await deadMails(3);
    const [a, b, c] = await queues.listDead('emails');
    // As stored by a version without the index.
    await redis.del(index);
    expect((await queues.listDead('emails', { after: a.id })).map((d) => d.id)).toEqual([
      b.id,
      c.id,
    ]);
    expect(await queues.forgetDead('emails', c.id)).toBe(true);
    expect(await queues.retryDead('emails', b.id)).toBe(1);
    // It fails again, and dies again: indexed this time.
    await queues.drain();
    expect((await queues.listDead('emails')).map((d) => d.id)).toEqual([a.id, b.id]);
    expect(Object.keys(await redis.hgetall(index))).toEqual([b.id]);
    expect(await redis.xlen(dead)).toBe(2);
  });
});
