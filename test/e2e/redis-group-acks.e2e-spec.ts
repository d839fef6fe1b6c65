import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEventsOptions } from 'nestjs-events';
import { createRedisQueueTransport } from '../../lib/queue/redis/redis-queue.transport.js';
import type { NewJob, ReservedJob } from '../../lib/queue/queue-job.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

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

/** Commands Redis ran since the last RESETSTAT, those run by scripts included. */
async function commands(): Promise<number> {
  const info = await admin.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info' && m[1] !== 'config|resetstat') calls += Number(m[2]);
  }
  return calls;
}

/** Script calls Redis ran since the last RESETSTAT (EVAL the first time on a connection). */
async function scriptCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) calls += Number(m[1]);
  return calls;
}

function job(queue: string, i: number, group?: string, concurrency = 2): NewJob {
  return {
    id: `${queue}-${group ?? 'none'}-${i}`,
    queue,
    listener: 'L.handle',
    payload: JSON.stringify({ i }),
    delayMs: 0,
    ...(group !== undefined && {
      group: { id: group, weight: 1, concurrency, rateMax: 0, rateMs: 0 },
    }),
  };
}

async function reserveAll(
  transport: QueueTransport,
  queue: string,
  count: number,
  isGrouped: boolean,
): Promise<ReservedJob[]> {
  const reserved: ReservedJob[] = [];
  while (reserved.length < count) {
    const signal = AbortSignal.timeout(2000);
    reserved.push(
      ...(await transport.reserve(queue, count - reserved.length, signal, { isGrouped })),
    );
  }
  return reserved;
}

describe('Redis transport: acknowledgements of grouped jobs', () => {
  it('free the group slots in the acknowledging script call: no more calls than for jobs without groups', async () => {
    const transport = await createRedisQueueTransport(
      resolveEventsOptions({ redis: server.url, prefix: 'group-acks' }, {}),
    );
    try {
      await transport.enqueue([0, 1, 2, 3].map((i) => job('plain', i)));
      const plain = await reserveAll(transport, 'plain', 4, false);
      await admin.config('RESETSTAT');
      await Promise.all(plain.map((j) => transport.ack(j)));
      const plainCalls = await scriptCalls();

      // Two groups of four jobs, two slots each: a take hands out the first two of each.
      await transport.enqueue(
        [0, 1, 2, 3].flatMap((i) => [job('grouped', i, 'A'), job('grouped', i, 'B')]),
      );
      const first = await reserveAll(transport, 'grouped', 4, true);
      expect(first.map((j) => j.id).sort()).toEqual([
        'grouped-A-0',
        'grouped-A-1',
        'grouped-B-0',
        'grouped-B-1',
      ]);
      await admin.config('RESETSTAT');
      await Promise.all(first.map((j) => transport.ack(j)));
      // Slots freed however the transport frees them (a later call would show here too).
      let listings = 0;
      await waitFor(async () => {
        listings++;
        const groups = await transport.groups('grouped', 0, 10);
        return groups.every((g) => g.active === 0);
      });
      expect((await scriptCalls()) - listings).toBe(plainCalls);
      expect(await transport.groups('grouped', 0, 10)).toMatchObject([
        { id: 'A', waiting: 2, active: 0 },
        { id: 'B', waiting: 2, active: 0 },
      ]);
      const next = await reserveAll(transport, 'grouped', 4, true);
      expect(next.map((j) => j.id).sort()).toEqual([
        'grouped-A-2',
        'grouped-A-3',
        'grouped-B-2',
        'grouped-B-3',
      ]);
      await Promise.all(next.map((j) => transport.ack(j)));
      await waitFor(async () => (await transport.groups('grouped', 0, 10)).length === 0);
    } finally {
      await transport.close();
    }
  });

  it('takes jobs of groups without limits at a few Redis commands per job', async () => {
    const transport = await createRedisQueueTransport(
      resolveEventsOptions({ redis: server.url, prefix: 'group-take-cost' }, {}),
    );
    try {
      const count = 50;
      await transport.enqueue(
        Array.from({ length: count }, (_, i) => job('free', i, i % 2 === 0 ? 'A' : 'B', 0)),
      );
      // The first read creates the consumer group (not a cost per job).
      await transport.reserve('free', 0, AbortSignal.timeout(2000), { isGrouped: true });
      await admin.config('RESETSTAT');
      const taken = await reserveAll(transport, 'free', count, true);
      // Each job: the rotation's head, its pop, its slot, its stream entry, the group's length and
      // its turn; the rest is per call (the queue's head, pauses, spec, wake-up, read).
      expect((await commands()) / count).toBeLessThanOrEqual(7);
      expect(taken.map((j) => j.id)).toEqual(
        Array.from({ length: count }, (_, i) => `free-${i % 2 === 0 ? 'A' : 'B'}-${i}`),
      );
      await Promise.all(taken.map((j) => transport.ack(j)));
    } finally {
      await transport.close();
    }
  });

  it('takes the jobs of a group alone in the rotation in one pop: about one command per job', async () => {
    const transport = await createRedisQueueTransport(
      resolveEventsOptions({ redis: server.url, prefix: 'group-take-alone' }, {}),
    );
    try {
      const count = 50;
      await transport.enqueue(Array.from({ length: count }, (_, i) => job('alone', i, 'A', 0)));
      await transport.reserve('alone', 0, AbortSignal.timeout(2000), { isGrouped: true });
      await admin.config('RESETSTAT');
      const taken = await reserveAll(transport, 'alone', count, true);
      // Each job: its stream entry; the pop, its slots and the read are per call.
      expect((await commands()) / count).toBeLessThanOrEqual(1.5);
      expect(taken.map((j) => j.id)).toEqual(
        Array.from({ length: count }, (_, i) => `alone-A-${i}`),
      );
      await Promise.all(taken.map((j) => transport.ack(j)));
      await waitFor(async () => (await transport.groups('alone', 0, 10)).length === 0);
      // A group that comes back after emptying is taken again.
      await transport.enqueue([job('alone', count, 'A', 0)]);
      const again = await reserveAll(transport, 'alone', 1, true);
      expect(again.map((j) => j.id)).toEqual([`alone-A-${count}`]);
      await transport.ack(again[0]);
    } finally {
      await transport.close();
    }
  });
});
