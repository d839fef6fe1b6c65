import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, OnEvent, ShouldQueue } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

/** Set by a callback queued for the turn of the event loop after each read's reply. */
let turnAfterRead = false;
const starts: boolean[] = [];

@Injectable()
class TurnListener {
  @OnEvent('turn.job')
  @ShouldQueue({ queue: 'turn' })
  handle(): void {
    starts.push(turnAfterRead);
  }
}

let server: RedisServer;
const apps: INestApplicationContext[] = [];
const read = Redis.prototype.xreadgroup;

beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  Redis.prototype.xreadgroup = read;
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
afterAll(async () => {
  await server?.stop();
});

describe('Redis worker: jobs of a read start one turn of the event loop after its reply', () => {
  it('lets the I/O of the same turn (the replies to the emits that stored them) go first', async () => {
    // Each read's reply queues a callback for the next turn (a check-phase callback, as the
    // replies of other connections read in the same turn run before it). A handler that starts
    // in the microtasks of the reply, as it used to, runs before that callback.
    Redis.prototype.xreadgroup = function (this: Redis, ...args: unknown[]) {
      return (read as (...a: unknown[]) => Promise<unknown>).apply(this, args).then((reply) => {
        if (reply !== null) {
          turnAfterRead = false;
          setImmediate(() => (turnAfterRead = true));
        }
        return reply;
      });
    } as typeof read;
    const app = await createTestApp(
      { providers: [TurnListener] },
      { redis: server.url, prefix: 'read-turn', worker: { concurrency: 1 } },
    );
    apps.push(app);
    const bus = app.get(EventBus);
    for (let n = 0; n < 5; n++) {
      await bus.emit('turn.job', { n });
      await waitFor(() => starts.length === n + 1);
    }
    expect(starts).toEqual([true, true, true, true, true]);
  });
});
