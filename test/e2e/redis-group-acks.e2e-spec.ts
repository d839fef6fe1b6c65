import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import {
  commandCount,
  groupJob as job,
  reserveAll,
  takeAgain,
  withTransport as withGroupTransport,
} from '../support/group-transport.js';
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

/** Script calls Redis ran since the last RESETSTAT (EVAL the first time on a connection). */
async function scriptCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) calls += Number(m[1]);
  return calls;
}

/** A Redis transport with its own prefix for one test, closed after it. */
function withTransport(
  prefix: string,
  test: (transport: QueueTransport) => Promise<void>,
): Promise<void> {
  return withGroupTransport(server.url, prefix, test);
}

/** The group keys of a queue left in Redis (its counter of waiting jobs aside). */
async function groupKeys(base: string): Promise<string[]> {
  return (await admin.keys(`${base}:g*`)).filter((key) => !key.endsWith(':g:waiting'));
}

/** Socket reads Redis made since the last RESETSTAT. */
async function socketReads(): Promise<number> {
  const info = await admin.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(info)?.[1]);
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
      // Each job: its pop, its slot, its stream entry, and its share of the rotation's pops and
      // pushes; the rest is per call (the queue's head, pauses, specs, wake-up, read).
      expect((await commandCount(admin)) / count).toBeLessThanOrEqual(7);
      // A first attempt's entry: no \`a\` (none before) and no mark but its group, for the worker to
      // decode (as a job stored without a group, plus \`g\`).
      const [[, fields]] = await admin.xrange(
        'group-take-cost:{group-take-cost:free}:stream',
        '-',
        '+',
      );
      expect(fields.filter((_, i) => i % 2 === 0)).toEqual(['id', 'l', 'p', 't', 'g']);
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
      expect((await commandCount(admin)) / count).toBeLessThanOrEqual(1.5);
      expect(taken.map((j) => j.id)).toEqual(
        Array.from({ length: count }, (_, i) => `alone-A-${i}`),
      );
      await Promise.all(taken.map((j) => transport.ack(j)));
      await takeAgain(transport, 'alone');
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
      // Each job: its pop and its stream entry; the rotation (one pop and one push back per pass
      // over the groups) and slots are per group and call, the specs one HMGET per call.
      const perJob = (await commandCount(admin)) / count;
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
        perAck.push((await commandCount(admin)) / batch.length);
      }
      // Per group: its slots' ZREM, its length and its lease count; the states in one HMGET, and
      // the specs and index entries of the groups that are gone in one DEL and one ZREM.
      expect(perAck[0]).toBeLessThanOrEqual(4);
      expect(perAck[1]).toBeLessThanOrEqual(1.1);
      await takeAgain(transport, 'many');
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

describe('Redis transport: group specs and the cost of many groups', () => {
  it('takes and acknowledges the jobs of 100 groups at fewer than 4.5 Redis commands per job', () =>
    withTransport('group-many-cost', async (transport) => {
      const groups = 100;
      const count = 600;
      await transport.enqueue(
        Array.from({ length: count }, (_, i) => job('wide', i, `T${i % groups}`, 0)),
      );
      await transport.reserve('wide', 0, AbortSignal.timeout(2000), { isGrouped: true });
      await admin.config('RESETSTAT');
      // As a worker at concurrency 10 reading ahead: takes of 110, each acknowledged.
      const order: string[] = [];
      while (order.length < count) {
        const taken = await reserveAll(
          transport,
          'wide',
          Math.min(110, count - order.length),
          true,
        );
        order.push(...taken.map((j) => j.id));
        await Promise.all(taken.map((j) => transport.ack(j)));
      }
      // Each job: its pop, its stream entry, its slot's add and removal; the specs of a take's
      // groups are one HMGET, and a group's length is read only when a turn finds it empty.
      expect((await commandCount(admin)) / count).toBeLessThan(4.5);
      expect(order).toEqual(Array.from({ length: count }, (_, i) => `wide-T${i % groups}-${i}`));
      await takeAgain(transport, 'wide');
      await waitFor(async () => (await transport.groups('wide', 0, 200)).length === 0);
      expect(await groupKeys('group-many-cost:{group-many-cost:wide}')).toEqual([]);
    }));

  it('keeps the limits of a group whose spec an earlier release stored in its own hash', () =>
    withTransport('group-old-spec', async (transport) => {
      const base = 'group-old-spec:{group-old-spec:old}';
      await transport.enqueue([0, 1, 2].map((i) => job('old', i, 'A', 1)));
      // Specs are one queue-level hash now ('w:c:rm:rd'); the earlier release kept them in
      // `gq:<id>:meta`, which must still count (a deploy while such groups hold jobs).
      expect(await admin.hget(`${base}:g:specs`, 'A')).toBe('1:1:0:0');
      await admin.hdel(`${base}:g:specs`, 'A');
      await admin.hset(`${base}:gq:A:meta`, 'w', '1', 'c', '1', 'rm', '0', 'rd', '0');
      const started: string[] = [];
      for (let i = 0; i < 3; i++) {
        // Concurrency 1: one job at a time, however many are asked for.
        const taken = await reserveAll(transport, 'old', 1, true);
        expect(
          await transport.reserve('old', 5, AbortSignal.timeout(100), { isGrouped: true }),
        ).toEqual([]);
        started.push(...taken.map((j) => j.id));
        await transport.ack(taken[0]);
      }
      expect(started).toEqual(['old-A-0', 'old-A-1', 'old-A-2']);
      // Dropped with its group, as the group's other keys.
      await waitFor(async () => (await admin.exists(`${base}:gq:A:meta`)) === 0);
      expect(await groupKeys(base)).toEqual([]);
    }));

  it('writes the spec of a limited group where a worker of the earlier release reads it too', () =>
    withTransport('group-both-specs', async (transport) => {
      const base = 'group-both-specs:{group-both-specs:both}';
      await transport.enqueue([job('both', 0, 'L', 1), job('both', 1, 'U', 0)]);
      // Limited: both places (a rolling deploy's older workers keep its concurrency).
      expect(await admin.hget(`${base}:g:specs`, 'L')).toBe('1:1:0:0');
      expect(await admin.hgetall(`${base}:gq:L:meta`)).toEqual({
        w: '1',
        c: '1',
        rm: '0',
        rd: '0',
      });
      // Unlimited: the queue's hash only (an older worker reading no spec takes it as unlimited).
      expect(await admin.hget(`${base}:g:specs`, 'U')).toBe('1:0:0:0');
      expect(await admin.exists(`${base}:gq:U:meta`)).toBe(0);
      const taken = await reserveAll(transport, 'both', 2, true);
      await Promise.all(taken.map((j) => transport.ack(j)));
      await takeAgain(transport, 'both');
      await waitFor(async () => (await groupKeys(base)).length === 0);
      expect(await admin.exists(`${base}:gq:L:meta`)).toBe(0);
    }));

  it('sends a take and the read behind it in one socket write', () =>
    withTransport('group-one-write', async (transport) => {
      const count = 20;
      await transport.enqueue(
        Array.from({ length: count }, (_, i) => job('writes', i, `G${i % 2}`, 0)),
      );
      await transport.reserve('writes', 0, AbortSignal.timeout(2000), { isGrouped: true });
      await admin.config('RESETSTAT');
      for (let i = 0; i < count; i++) {
        const taken = await transport.reserve('writes', 1, AbortSignal.timeout(2000), {
          isGrouped: true,
        });
        expect(taken).toHaveLength(1);
      }
      // One read per take, this INFO's and a few to spare (sent as two writes, the take and its
      // read cost Redis two reads: about 40 here).
      expect(await socketReads()).toBeLessThanOrEqual(count + 5);
    }));
});
