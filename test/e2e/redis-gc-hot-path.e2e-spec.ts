import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Command, Redis } from 'ioredis';
import { resolveEventsOptions } from 'nestjs-events';
import { createRedisQueueTransport } from '../../lib/queue/redis/redis-queue.transport.js';
import { defineScripts } from '../../lib/queue/redis/redis-scripts.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

// Issue 15: what the worker's hot path leaves to the garbage collector. Two shapes made a worker
// promote ~1 KB per job out of the young generation (scavenges several times BullMQ's): ioredis's
// own script commands, and read replies kept whole after their jobs were made.

let server: RedisServer;
let client: Redis | undefined;

beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  client?.disconnect();
  client = undefined;
});
afterAll(async () => {
  await server?.stop();
});

/** The commands `redis` sends from now on. */
function recordCommands(redis: Redis): Command[] {
  const sent: Command[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command: Command, ...rest: never[]) => {
    sent.push(command);
    return send(command, ...rest);
  };
  return sent;
}

const COUNT_KEYS = ['gc:s', 'gc:d', 'gc:stats', 'gc:dead', 'gc:levels'] as const;

describe('Redis scripts on the hot path', () => {
  it('go out as plain EVALSHA commands, not as ioredis script commands', async () => {
    const redis = defineScripts((client = new Redis(server.url)));
    await redis.ping();
    const sent = recordCommands(redis);
    expect(await redis.eventsCounts(...COUNT_KEYS, 'g')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await redis.eventsCounts(...COUNT_KEYS, 'g')).toEqual([0, 0, 0, 0, 0, 0]);
    // The first call on a connection sends the script, the next ones its hash.
    expect(sent.map((c) => c.name)).toEqual(['eval', 'evalsha']);
    // ioredis's script commands are a subclass whose calls allocate a reject wrapper and a catch
    // of their own: the pair that kept jobs alive across scavenges.
    for (const command of sent) expect(Object.getPrototypeOf(command)).toBe(Command.prototype);
  });

  it('still run after Redis lost its scripts, and inside pipelines', async () => {
    const redis = defineScripts((client = new Redis(server.url)));
    expect(await redis.eventsCounts(...COUNT_KEYS, 'g')).toEqual([0, 0, 0, 0, 0, 0]);
    await redis.script('FLUSH');
    expect(await redis.eventsCounts(...COUNT_KEYS, 'g')).toEqual([0, 0, 0, 0, 0, 0]);
    const pipeline = redis.pipeline() as unknown as {
      eventsCounts(...args: string[]): unknown;
      exec(): Promise<[Error | null, unknown][]>;
    };
    pipeline.eventsCounts(...COUNT_KEYS, 'g');
    expect(await pipeline.exec()).toEqual([[null, [0, 0, 0, 0, 0, 0]]]);
  });
});

describe('Redis reads on the hot path', () => {
  it('empty the reply arrays once the jobs are made', async () => {
    const transport = await createRedisQueueTransport(
      resolveEventsOptions({ redis: server.url, prefix: 'gc-read' }, {}),
    );
    const replies: unknown[][] = [];
    const read = Redis.prototype.xreadgroup;
    Redis.prototype.xreadgroup = async function (this: Redis, ...args: unknown[]) {
      const reply = await (read as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      if (Array.isArray(reply)) replies.push(reply);
      return reply;
    } as typeof read;
    try {
      await transport.enqueue([
        { id: 'j1', queue: 'q', listener: 'L.handle', payload: '{"v":1}', delayMs: 0 },
        { id: 'j2', queue: 'q', listener: 'L.handle', payload: '{"v":2}', delayMs: 0 },
      ]);
      const jobs = [];
      while (jobs.length < 2) {
        jobs.push(...(await transport.reserve('q', 2, AbortSignal.timeout(2000))));
      }
      expect(jobs.map((j) => [j.id, j.payload])).toEqual([
        ['j1', '{"v":1}'],
        ['j2', '{"v":2}'],
      ]);
      expect(replies.length).toBeGreaterThan(0);
      // V8 may allocate a reply's outer arrays in the old generation: kept whole, they would
      // keep the read's entries and strings alive through every young-generation GC.
      for (const reply of replies) expect(reply).toEqual([]);
    } finally {
      Redis.prototype.xreadgroup = read;
      await transport.close();
    }
  });
});
