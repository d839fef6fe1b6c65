import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventsError, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

@Injectable()
class ManyListeners {
  readonly inProcess: EventEnvelope[] = [];

  @OnEvent('many.*')
  @ShouldQueue({ queue: 'many-a' })
  a() {}

  @OnEvent('many.two')
  @ShouldQueue({ queue: 'many-b' })
  b() {}

  @OnEvent('many.*')
  heard(event: EventEnvelope) {
    this.inProcess.push(event);
  }
}

const apps: INestApplicationContext[] = [];
let seq = 0;

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function producer(url: string) {
  const prefix = `many-${++seq}`;
  const app = await createTestApp(
    { providers: [ManyListeners] },
    {
      redis: url,
      prefix,
      worker: false,
      redisCommandTimeout: 2000,
    },
  );
  apps.push(app);
  const stream = (queue: string) => `${prefix}:{${prefix}:${queue}}:stream`;
  return { bus: app.get(EventBus), listeners: app.get(ManyListeners), stream };
}

/** 2,000 events: all to many-a, every other one to many-b too. */
const batch = () =>
  Array.from({ length: 2000 }, (_, i) => ({ name: i % 2 ? 'many.two' : 'many.one', data: { i } }));

describe('emitMany on Redis: a refused key', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('stores nothing in any queue when one queue’s key is of the wrong type, and runs nothing', async () => {
    const { bus, listeners, stream } = await producer(server.url);
    await admin.set(stream('many-b'), 'not a stream');
    const error = await bus.emitMany(batch()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventsError);
    expect(String(error)).toMatch(/WRONGTYPE/);
    expect(await admin.exists(stream('many-a'))).toBe(0);
    expect(listeners.inProcess).toEqual([]);
  });
});

describe('emitMany on Redis: Redis dies mid-call', () => {
  let durable: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    durable = await startRedisServer({ appendOnly: true });
    admin = new Redis(durable.url, { lazyConnect: true, maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    admin?.disconnect();
    await durable?.stop();
  });

  async function lengths(stream: (queue: string) => string): Promise<[number, number]> {
    return [await admin.xlen(stream('many-a')), await admin.xlen(stream('many-b'))];
  }

  it('rejects when Redis is stopped with the call in flight, and stored nothing', async () => {
    const { bus, listeners, stream } = await producer(durable.url);
    await bus.emitMany([{ name: 'many.two', data: { i: -1 } }]);
    listeners.inProcess.length = 0;
    durable.pause(); // SIGSTOP: the script is written to a server that reads nothing
    const emitted = bus.emitMany(batch());
    emitted.catch(() => undefined);
    await durable.kill();
    await expect(emitted).rejects.toBeInstanceOf(EventsError);
    await durable.start();
    expect(await lengths(stream)).toEqual([1, 1]);
    expect(listeners.inProcess).toEqual([]);
  });

  it('leaves each queue with all of its jobs or none when Redis is killed at any point', async () => {
    let rejected = 0;
    for (let round = 0; round < 6; round++) {
      const { bus, listeners, stream } = await producer(durable.url);
      // Queues listed (and streams made) first, so that every kill hits the store itself.
      await bus.emitMany([{ name: 'many.two', data: { i: -1 } }]);
      listeners.inProcess.length = 0;
      const emitted = bus.emitMany(batch()).then(
        () => true,
        () => false,
      );
      // Kill at a different point of the call each round: before it is sent, while Redis runs
      // it, or after its reply.
      for (let turn = 0; turn < round; turn++) await new Promise((r) => setImmediate(r));
      await durable.kill();
      const isResolved = await emitted;
      await durable.start();
      const [a, b] = await lengths(stream);
      expect([1, 2001]).toContain(a);
      expect([1, 1001]).toContain(b);
      if (isResolved) expect([a, b]).toEqual([2001, 1001]);
      else {
        rejected++;
        expect(listeners.inProcess).toEqual([]);
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});
