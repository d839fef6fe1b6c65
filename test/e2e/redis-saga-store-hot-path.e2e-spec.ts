import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisConnectionFactory } from '../../lib/redis/redis-connection.factory.js';
import { RedisSagaStore } from '../../lib/redis/redis-saga.store.js';
import type { SagaRecord } from '../../lib/sagas/saga-definition.js';
import { promisesUntilSettled } from '../support/promise-count.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

// A saga step reads its record and writes the next one with its job: two store calls per step.
// Once connected, each is the ioredis command and one reaction to it (parse, or error wrapping),
// not an async wrapper around an await of the connection and another around the command.

let server: RedisServer;
let store: RedisSagaStore;
let plain: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  store = new RedisSagaStore(
    new RedisConnectionFactory(server.url, 'hot-sagas', 5000),
    'hot',
    60_000,
  );
  plain = new Redis(server.url, { enableAutoPipelining: true, commandTimeout: 5000 });
});
afterAll(async () => {
  await store?.close();
  plain?.disconnect();
  await server?.stop();
});

/** The fewest promises `fn` made in five runs. */
async function fewest(fn: () => Promise<unknown>): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 5; i++) least = Math.min(least, (await promisesUntilSettled(fn))[0]);
  return least;
}

function record(id: string, version: number): SagaRecord {
  return {
    id,
    name: 'hot',
    status: 'running',
    step: 0,
    version,
    data: '{}',
    history: [],
    inbox: {},
    createdAt: 1,
    updatedAt: 1,
  };
}

describe('Redis saga store hot path', () => {
  it('a read and a checked write cost the command and one reaction each', async () => {
    expect(await store.create(record('s1', 1))).toBe(true);
    await plain.hget('warm-up', 'j');
    // The command alone, awaited: what the store's calls are measured against. Each count is
    // the least of a few, as a timer of the process may fire during one.
    const command = await fewest(async () => {
      expect(await plain.hget('hot-up', 'j')).toBeNull();
    });
    const read = await fewest(async () => expect((await store.get('s1'))?.version).toBe(1));
    expect(read).toBeLessThanOrEqual(command + 1);
    let version = 1;
    const write = await fewest(async () => {
      expect(await store.update(record('s1', version + 1), version)).toBe(true);
      version++;
    });
    // A script call has one more: its NOSCRIPT fallback (redis-script-call.ts).
    expect(write).toBeLessThanOrEqual(command + 2);
    // Refused (stale version) and failing calls keep their answers.
    expect(await store.update(record('s1', version + 1), 1)).toBe(false);
    expect(await store.get('none')).toBeUndefined();
  });
});
