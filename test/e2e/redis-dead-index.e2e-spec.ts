import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { MailBounced } from '../fixtures/mail-bounced.event.js';
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

  async function deadMails(n: number, tenants: string[] = []) {
    const prefix = `dead-index-${++seq}`;
    const app = await createTestApp({ providers: [FailingMailer] }, { redis: server.url, prefix });
    apps.push(app);
    const bus = app.get(EventBus);
    const queues = app.get(EventQueues);
    for (let i = 0; i < n; i++) await bus.emit('mail.sent', { i });
    for (const tenant of tenants) await bus.emit(new MailBounced(tenant));
    await queues.drain();
    const base = `${prefix}:{${prefix}:emails}`;
    return { queues, dead: `${base}:dead`, index: `${base}:dead-index` };
  }

  it('indexes tagged dead jobs per tag, and drops them from it on forget, retry and purge', async () => {
    const { queues, index } = await deadMails(1, ['acme', 'acme', 'globex', 'initech']);
    await queues.pause('emails'); // retried jobs wait (they would die again at once)
    const tagged = (await queues.listDead('emails')).filter((d) => d.tags.length > 0);
    const [a1, a2, g, i] = tagged;
    expect((await redis.smembers(`${index}:tags`)).sort()).toEqual([
      'bounce',
      'tenant:acme',
      'tenant:globex',
      'tenant:initech',
    ]);
    expect(await redis.zrange(`${index}:tag:tenant:acme`, '0', '-1')).toEqual([a1.id, a2.id]);
    expect(await redis.zcard(`${index}:tag:bounce`)).toBe(4);
    expect(await queues.forgetDead('emails', g.id)).toBe(true);
    expect(await redis.exists(`${index}:tag:tenant:globex`)).toBe(0);
    expect(await redis.sismember(`${index}:tags`, 'tenant:globex')).toBe(0);
    expect(await queues.retryDead('emails', a1.id)).toBe(1);
    expect(await redis.zrange(`${index}:tag:tenant:acme`, '0', '-1')).toEqual([a2.id]);
    expect(await queues.retryDead('emails', 'all')).toBe(3); // a2, i and the untagged one
    expect(await redis.exists(`${index}:tags`, `${index}:tag:bounce`)).toBe(0);
    await queues.resume('emails');
    await queues.drain(); // all four die again, the three tagged ones tagged again
    expect(await redis.zcard(`${index}:tag:bounce`)).toBe(3);
    expect(await queues.listDead('emails', { tag: 'tenant:initech' })).toMatchObject([
      { id: i.id },
    ]);
    await queues.purgeDead('emails');
    expect(await redis.keys(`${index}*`)).toEqual([]);
  });

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
