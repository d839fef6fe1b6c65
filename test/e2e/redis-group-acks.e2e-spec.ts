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

function job(queue: string, i: number, group?: string, concurrency = 2, weight = 1): NewJob {
  return {
    id: `${queue}-${group ?? 'none'}-${i}`,
    queue,
    listener: 'L.handle',
    payload: JSON.stringify({ i }),
    delayMs: 0,
    ...(group !== undefined && {
      group: { id: group, weight, concurrency, rateMax: 0, rateMs: 0 },
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

/** A Redis transport with its own prefix for one test, closed after it. */
async function withTransport(
  prefix: string,
  test: (transport: QueueTransport) => Promise<void>,
): Promise<void> {
  const transport = await createRedisQueueTransport(
    resolveEventsOptions({ redis: server.url, prefix }, {}),
  );
  try {
    await test(transport);
  } finally {
    await transport.close();
  }
}

describe('Redis transport: acknowledgements of grouped jobs', () => {
  it('free the group slots in the acknowledging script call: no more calls than for jobs without groups', () =>
    withTransport('group-acks', async (transport) => {
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
    }));

  it('takes jobs of groups without limits at a few Redis commands per job', () =>
    withTransport('group-take-cost', async (transport) => {
      const count = 50;
      await transport.enqueue(
        Array.from({ length: count }, (_, i) => job('free', i, i % 2 === 0 ? 'A' : 'B', 0)),
      );
      // The first read creates the consumer group (not a cost per job).
      await transport.reserve('free', 0, AbortSignal.timeout(2000), { isGrouped: true });
      await admin.config('RESETSTAT');
      const taken = await reserveAll(transport, 'free', count, true);
      // Each job: its pop, its slot, its stream entry, the group's length, and its share of the
      // rotation's pops and pushes; the rest is per call (the queue's head, pauses, spec, wake-up,
      // read).
      expect((await commands()) / count).toBeLessThanOrEqual(7);
      expect(taken.map((j) => j.id)).toEqual(
        Array.from({ length: count }, (_, i) => `free-${i % 2 === 0 ? 'A' : 'B'}-${i}`),
      );
      await Promise.all(taken.map((j) => transport.ack(j)));
    }));

  it('takes the jobs of a group alone in the rotation in one pop: about one command per job', () =>
    withTransport('group-take-alone', async (transport) => {
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
    }));
  it('takes the rotation in batches: with many groups, fewer commands per job than one per turn', () =>
    withTransport('group-take-many', async (transport) => {
      const groups = 20;
      const count = 100;
      await transport.enqueue(
        Array.from({ length: count }, (_, i) => job('many', i, `G${i % groups}`, 0)),
      );
      await transport.reserve('many', 0, AbortSignal.timeout(2000), { isGrouped: true });
      await admin.config('RESETSTAT');
      const taken = await reserveAll(transport, 'many', count, true);
      // Each job: its pop, its stream entry and the group's length; the rotation (one pop and one
      // push back per pass over the groups), specs and slots are per group and call.
      const perJob = (await commands()) / count;
      expect(perJob).toBeLessThanOrEqual(4);
      // Round-robin, in emit order within each group.
      expect(taken.map((j) => j.id)).toEqual(
        Array.from({ length: count }, (_, i) => `many-G${i % groups}-${i}`),
      );
      // The first job of each group, then the rest (each group's last slots: it is dropped).
      const perAck: number[] = [];
      for (const batch of [taken.slice(0, groups), taken.slice(groups)]) {
        await admin.config('RESETSTAT');
        await Promise.all(batch.map((j) => transport.ack(j)));
        perAck.push((await commands()) / batch.length);
      }
      // Per group: its slots' ZREM, its length and its lease count; the states in one HMGET, and
      // the specs and index entries of the groups that are gone in one DEL and one ZREM.
      expect(perAck[0]).toBeLessThanOrEqual(4);
      expect(perAck[1]).toBeLessThanOrEqual(1.1);
      await waitFor(async () => (await transport.groups('many', 0, 100)).length === 0);
    }));

  it('keeps a weighted turn across takes that end inside it', () =>
    withTransport('group-take-weight', async (transport) => {
      await transport.enqueue([
        ...Array.from({ length: 9 }, (_, i) => job('weighted', i, 'H', 0, 3)),
        ...Array.from({ length: 3 }, (_, i) => job('weighted', i, 'L', 0)),
      ]);
      const order: string[] = [];
      while (order.length < 12) {
        // Two at a time: takes end in the middle of H's turns of three.
        const taken = await transport.reserve('weighted', 2, AbortSignal.timeout(2000), {
          isGrouped: true,
        });
        order.push(...taken.map((j) => j.id.split('-')[1]));
        await Promise.all(taken.map((j) => transport.ack(j)));
      }
      expect(order.join('')).toBe('HHHLHHHLHHHL');
    }));
  it('delivers the jobs a take moved by a read of their own, not from inside the script', () =>
    withTransport('group-take-read', async (transport) => {
      await transport.enqueue(Array.from({ length: 6 }, (_, i) => job('read', i, `G${i % 3}`, 0)));
      const monitor = await admin.monitor();
      // Where each XREADGROUP came from: 'lua' for a script's, the client's address otherwise.
      const sources: string[] = [];
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (args[0]?.toLowerCase() === 'xreadgroup') sources.push(source);
      });
      try {
        const taken = await reserveAll(transport, 'read', 6, true);
        expect(taken.map((j) => j.id)).toEqual(
          Array.from({ length: 6 }, (_, i) => `read-G${i % 3}-${i}`),
        );
        await waitFor(() => sources.length > 0);
        // Read in the script, the entries would be converted to Lua and back: Redis's time twice.
        expect(sources.filter((source) => source === 'lua')).toEqual([]);
        await Promise.all(taken.map((j) => transport.ack(j)));
      } finally {
        monitor.disconnect();
      }
    }));
});
