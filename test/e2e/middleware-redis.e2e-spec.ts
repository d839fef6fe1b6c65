import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COORDINATION_STORE, EventBus, type CoordinationStore } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { runCoordinatedMiddlewareSuite } from '../fixtures/middleware.suite.js';
import { CoordinatedListeners, MiddlewareProbe } from '../fixtures/middleware.fixtures.js';

let server: RedisServer;
let seq = 0;
const prefix = () => `mw-${process.pid}-${++seq}`;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

runCoordinatedMiddlewareSuite({
  name: 'Redis transport',
  workers: 2,
  options: () => ({ redis: server.url, prefix: prefix() }),
});

describe('Redis coordination store', () => {
  it('uses Redis server time and one connection, opened on first use and closed with the app', async () => {
    const name = prefix();
    const app = await createTestApp(
      { providers: [MiddlewareProbe, CoordinatedListeners] },
      { redis: server.url, prefix: name },
    );
    const admin = new Redis(server.url);
    try {
      const clients = async () =>
        ((await admin.client('LIST')) as string)
          .split('\n')
          .filter((line) => line.includes(`name=${name}:events:coordination`)).length;
      expect(await clients()).toBe(0);
      const store = app.get<CoordinationStore>(COORDINATION_STORE);
      expect(store.kind).toBe('redis');
      expect(await store.hit('k', 1, 60_000)).toBe(0);
      const waitMs = await store.hit('k', 1, 60_000);
      expect(waitMs).toBeGreaterThan(0);
      expect(waitMs).toBeLessThanOrEqual(60_000);
      expect(await admin.exists(`${name}:mw:throttle:x`, `${name}:mw:k`)).toBe(1);
      expect(await store.acquire('lease', 'a', 60_000)).toEqual({
        isAcquired: true,
        remainingMs: 0,
      });
      expect(await store.acquire('lease', 'b', 60_000)).toMatchObject({
        isAcquired: false,
        holder: 'a',
      });
      expect(await store.extend('lease', 'b', 60_000)).toBe(false);
      await store.release('lease', 'b');
      expect(await store.get('lease')).toBe('a');
      await store.release('lease', 'a');
      expect(await store.get('lease')).toBeUndefined();
      expect(await clients()).toBe(1);
      await app.get(EventBus).emit('mw.throttle.slow', {});
      await app.close();
      await waitFor(async () => (await clients()) === 0);
    } finally {
      admin.disconnect();
    }
  });
});
