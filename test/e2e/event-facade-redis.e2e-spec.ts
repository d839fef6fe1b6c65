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
 * What the server has stored and who is connected: XADD and ZADD calls (inside scripts too), the
 * dataset's change counter (every key written, by any command or script; the test server saves
 * nothing, so the counter is never reset) and its connected clients (this observer included).
 * Not the number of commands: an idle app still reads Redis (the schedule runner claims due
 * occurrences every 500 ms, a script that writes nothing when nothing is due).
 */
async function serverState(
  observer: Redis,
): Promise<{ xadds: number; zadds: number; changes: number; clients: number }> {
  const stats = await observer.info('commandstats');
  const calls = new Map(
    [...stats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map(([, name, n]) => [name, Number(n)]),
  );
  const persistence = await observer.info('persistence');
  const changes = Number(/rdb_changes_since_last_save:(\d+)/.exec(persistence)?.[1]);
  const clients = ((await observer.client('LIST')) as string).trim().split('\n').length;
  return { xadds: calls.get('xadd') ?? 0, zadds: calls.get('zadd') ?? 0, changes, clients };
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
    const placed = await serverState(observer);
    expect(placed.xadds).toBeGreaterThan(before.xadds);
    expect(placed.changes).toBeGreaterThan(before.changes);
    await orders.remind('o2', 60_000);
    expect((await serverState(observer)).zadds).toBeGreaterThan(before.zadds);
    expect(await queues.counts('emails')).toMatchObject({ waiting: 1 });
    expect(await queues.counts('reminders')).toMatchObject({ delayed: 1 });
  });
});
