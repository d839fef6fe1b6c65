import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Command, Redis } from 'ioredis';
import { resolveEventsOptions } from 'nestjs-events';
import { createRedisQueueTransport } from '../../lib/queue/redis/redis-queue.transport.js';
import { createRedisCoordinationStore } from '../../lib/redis/redis-coordination.store.js';
import { RedisConnectionFactory } from '../../lib/redis/redis-connection.factory.js';
import { RedisSagaStore } from '../../lib/redis/redis-saga.store.js';
import type { SagaRecord } from '../../lib/sagas/saga-definition.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

// The stores beside the queue (sagas, coordination, schedules, job removal) send their scripts
// as the queue does (redis-gc-hot-path.e2e-spec.ts): as plain EVAL/EVALSHA commands, not as
// ioredis's script commands, whose reject wrapper and catch kept garbage alive per call.

let server: RedisServer;
let admin: Redis;
const closers: (() => Promise<void>)[] = [];
const send = Redis.prototype.sendCommand;

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});
afterEach(async () => {
  Redis.prototype.sendCommand = send;
  for (const close of closers.splice(0)) await close();
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

/** The script commands (EVAL, EVALSHA) any client sends from now on, until the test ends. */
function recordScripts(): Command[] {
  const sent: Command[] = [];
  Redis.prototype.sendCommand = function (this: Redis, command: Command, ...rest: never[]) {
    if (command.name === 'eval' || command.name === 'evalsha') sent.push(command);
    return send.call(this, command, ...rest);
  } as typeof send;
  return sent;
}

/**
 * Runs `call` three times (the third after Redis lost its scripts) and checks what went out:
 * the script on the connection's first call, its hash on the next, the script again on NOSCRIPT.
 */
async function expectPlainScriptCalls(call: (n: number) => Promise<void>): Promise<void> {
  const sent = recordScripts();
  await call(1);
  await call(2);
  await admin.script('FLUSH');
  await call(3);
  expect(sent.map((c) => c.name)).toEqual(['eval', 'evalsha', 'evalsha', 'eval']);
  // ioredis's script commands are a subclass of Command that wraps each call's reject.
  for (const command of sent) expect(Object.getPrototypeOf(command)).toBe(Command.prototype);
}

function sagaRecord(id: string): SagaRecord {
  const at = Date.now();
  return {
    id,
    name: 'gc',
    status: 'running',
    step: 0,
    version: 1,
    data: '{}',
    history: [],
    inbox: {},
    createdAt: at,
    updatedAt: at,
  };
}

describe('Scripts of the stores beside the queue', () => {
  it('the saga store sends plain EVAL/EVALSHA and survives SCRIPT FLUSH', async () => {
    const factory = new RedisConnectionFactory(server.url, 'gc-sagas', 5000);
    const store = new RedisSagaStore(factory, 'gc-sagas', 60_000);
    closers.push(() => store.close());
    await store.get('warm-up');
    await expectPlainScriptCalls(async (n) => {
      expect(await store.create(sagaRecord(`s${n}`))).toBe(true);
    });
    expect((await store.get('s3'))?.name).toBe('gc');
  });

  it('the coordination store sends plain EVAL/EVALSHA and survives SCRIPT FLUSH', async () => {
    const store = createRedisCoordinationStore(
      resolveEventsOptions({ redis: server.url, prefix: 'gc-coord' }, {}),
    );
    closers.push(() => store.onApplicationShutdown());
    await store.get('warm-up');
    await expectPlainScriptCalls(async (n) => {
      expect(await store.acquire(`lock${n}`, 'token', 10_000)).toEqual({
        isAcquired: true,
        remainingMs: 0,
      });
    });
    expect(await store.acquire('lock3', 'other', 10_000)).toMatchObject({ isAcquired: false });
  });

  it('the schedule store sends plain EVAL/EVALSHA and survives SCRIPT FLUSH', async () => {
    const transport = await createRedisQueueTransport(
      resolveEventsOptions({ redis: server.url, prefix: 'gc-sched' }, {}),
    );
    closers.push(() => transport.close());
    const schedules = transport.schedules;
    await schedules.now();
    await expectPlainScriptCalls(async () => {
      const batch = await schedules.claim(10, 1000);
      expect(batch.claimed).toEqual([]);
      expect(batch.nextDue).toBeUndefined();
    });
  });

  it('job removal sends plain EVAL/EVALSHA and survives SCRIPT FLUSH', async () => {
    const transport = await createRedisQueueTransport(
      resolveEventsOptions({ redis: server.url, prefix: 'gc-remove' }, {}),
    );
    closers.push(() => transport.close());
    await transport.enqueue(
      [1, 2, 3].map((v) => ({
        id: `j${v}`,
        queue: 'q',
        listener: 'L.handle',
        payload: `{"v":${v}}`,
        delayMs: 0,
      })),
    );
    await expectPlainScriptCalls(async (n) => {
      const removed = await transport.removeMatching('q', 'L.handle', (p) => p === `{"v":${n}}`);
      expect(removed).toEqual({ removed: 1, running: [] });
    });
  });
});
