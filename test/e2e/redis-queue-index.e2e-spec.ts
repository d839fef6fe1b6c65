import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

@Injectable()
class IndexListeners {
  @OnEvent('index.one')
  @ShouldQueue({ queue: 'index-a' })
  a() {}

  @OnEvent('index.two')
  @ShouldQueue({ queue: 'index-b' })
  b() {}

  @OnEvent('index.two')
  @ShouldQueue({ queue: 'index-c' })
  c() {}
}

let server: RedisServer;
let admin: Redis;
const apps: INestApplicationContext[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

/** Calls of one command since the last RESETSTAT, commands run inside Lua scripts included. */
async function calls(command: string): Promise<number> {
  const info = await admin.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

async function producer(prefix: string) {
  // No worker: its consumer group creation lists queues too, and is not what is counted here.
  const app = await createTestApp(
    { providers: [IndexListeners] },
    {
      redis: server.url,
      prefix,
      worker: false,
    },
  );
  apps.push(app);
  return { bus: app.get(EventBus), queues: app.get(EventQueues) };
}

describe('Redis transport: the queue index costs one SADD per queue per process', () => {
  it('lists a new queue once for a burst of 1,000 emits, then never again', async () => {
    const { bus, queues } = await producer('index-burst');
    await admin.config('RESETSTAT');
    await Promise.all(Array.from({ length: 1000 }, (_, i) => bus.emit('index.one', { i })));
    expect(await calls('sadd')).toBe(1);
    for (let i = 0; i < 100; i++) await bus.emit('index.one', { i });
    expect(await calls('sadd')).toBe(1);
    expect(await queues.counts('index-a')).toMatchObject({ waiting: 1100 });
    expect(await admin.smembers('index-burst:queues')).toEqual(['index-a']);
  });

  it('lists each queue of a multi-queue emit once, and lists it again in another process', async () => {
    const first = await producer('index-multi');
    await admin.config('RESETSTAT');
    await Promise.all(Array.from({ length: 200 }, (_, i) => first.bus.emit('index.two', { i })));
    expect(await calls('sadd')).toBe(2);
    const second = await producer('index-multi');
    await Promise.all(Array.from({ length: 200 }, (_, i) => second.bus.emit('index.two', { i })));
    expect(await calls('sadd')).toBe(4);
    expect((await admin.smembers('index-multi:queues')).sort()).toEqual(['index-b', 'index-c']);
    expect(await first.queues.counts('index-c')).toMatchObject({ waiting: 400 });
  });
});
