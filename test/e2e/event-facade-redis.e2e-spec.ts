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

/** XADD calls the server has run, and its connected clients (this observer included). */
async function serverState(observer: Redis): Promise<{ xadds: number; clients: number }> {
  const stats = await observer.info('commandstats');
  const xadds = Number(/cmdstat_xadd:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  const clients = ((await observer.client('LIST')) as string).trim().split('\n').length;
  return { xadds, clients };
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
    expect(app.get(FacadeOrderListeners).calls).toEqual([]);
    EventFacade.assertDispatchedTimes('order.*', 2);

    // The control: once restored, the same emit stores its job in Redis.
    EventFacade.restore();
    await orders.place('o2');
    expect((await serverState(observer)).xadds).toBeGreaterThan(before.xadds);
    expect(await queues.counts('emails')).toMatchObject({ waiting: 1 });
  });
});
