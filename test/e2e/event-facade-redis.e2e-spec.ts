import type { INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventFacade, EventQueues } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import {
  FacadeOrderListeners,
  FacadeOrdersService,
  facadeProviders,
} from '../fixtures/facade.fixtures.js';

/**
 * Commands that store nothing: connection set-up and inspection (the observer's own, and the
 * app's start-up checks, which may still be running), left out of the command count.
 */
const NON_WRITING = new Set(['info', 'client', 'config', 'hello', 'ping', 'select', 'command']);

/**
 * What the server has run: XADD and ZADD calls (inside scripts too), every command that may
 * write, and its connected clients (this observer included).
 */
async function serverState(
  observer: Redis,
): Promise<{ xadds: number; zadds: number; commands: number; clients: number }> {
  const stats = await observer.info('commandstats');
  const calls = new Map(
    [...stats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map(([, name, n]) => [name, Number(n)]),
  );
  const commands = [...calls]
    .filter(([name]) => !NON_WRITING.has(name.split('|')[0]))
    .reduce((sum, [, n]) => sum + n, 0);
  const clients = ((await observer.client('LIST')) as string).trim().split('\n').length;
  return { xadds: calls.get('xadd') ?? 0, zadds: calls.get('zadd') ?? 0, commands, clients };
}

describe('EventFacade with the Redis transport', () => {
  let server: RedisServer;
  let observer: Redis;
  let app: INestApplicationContext;

  beforeAll(async () => {
    server = await startRedisServer();
    observer = new Redis(server.url);
  });
  afterAll(async () => {
    observer?.disconnect();
    await server?.stop();
  });
  afterEach(async () => {
    EventFacade.restore();
    await app?.close();
  });

  it('fakes queued listeners without sending anything to Redis', async () => {
    app = await createTestApp(
      { providers: facadeProviders },
      { redis: server.url, prefix: `facade-${process.pid}`, worker: false },
    );
    const orders = app.get(FacadeOrdersService);
    const queues = app.get(EventQueues);
    const before = await serverState(observer);

    EventFacade.fake();
    await orders.place('o1');
    await orders.remind('o1', 60_000);

    expect(await serverState(observer)).toEqual(before);
    expect(await queues.counts('emails')).toMatchObject({ waiting: 0, delayed: 0 });
    expect(await queues.counts('reminders')).toMatchObject({ waiting: 0, delayed: 0 });
    expect(app.get(FacadeOrderListeners).calls).toEqual([]);
    EventFacade.assertDispatchedTimes('order.*', 2);

    // The control: once restored, the same emits store their jobs in Redis (a delayed job
    // through the delayed set, not the stream).
    EventFacade.restore();
    await orders.place('o2');
    expect((await serverState(observer)).xadds).toBeGreaterThan(before.xadds);
    await orders.remind('o2', 60_000);
    expect((await serverState(observer)).zadds).toBeGreaterThan(before.zadds);
    expect(await queues.counts('emails')).toMatchObject({ waiting: 1 });
    expect(await queues.counts('reminders')).toMatchObject({ delayed: 1 });
  });
});
