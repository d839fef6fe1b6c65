import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { MailBounced } from '../fixtures/mail-bounced.event.js';
import { createTestApp } from '../support/create-test-app.js';
import { useRedisTransports } from '../fixtures/use-redis-transports.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class FlakyMailer {
  readonly sent: unknown[] = [];
  isDown = true;

  @OnEvent('mail.*')
  @ShouldQueue({ queue: 'emails', tries: 1, priority: 3 })
  send(event: EventEnvelope) {
    if (this.isDown) throw new Error('smtp down');
    this.sent.push(event.data);
  }
}

/** The fields of a stream entry by name ('' for a missing one). */
function fieldMap(fields: string[]): { get(name: string): string; keys(): string[] } {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i], fields[i + 1]);
  return { get: (name) => map.get(name) ?? '', keys: () => [...map.keys()] };
}

describe('Redis dead letters: the layout a retry reads', () => {
  const rig = useRedisTransports();

  async function deadMails(n: number, tenants: string[] = []) {
    const prefix = rig.prefix('dead-layout');
    const app = rig.track(
      await createTestApp({ providers: [FlakyMailer] }, { redis: rig.server.url, prefix }),
    );
    const bus = app.get(EventBus);
    const queues = app.get(EventQueues);
    for (let i = 0; i < n; i++) await bus.emit('mail.sent', { i });
    for (const tenant of tenants) await bus.emit(new MailBounced(tenant));
    await queues.drain();
    const base = `${prefix}:{${prefix}:emails}`;
    return {
      queues,
      mailer: app.get(FlakyMailer),
      dead: `${base}:dead`,
      info: `${base}:dead-info`,
    };
  }

  it('keeps the failure out of the dead entry, lists it from the info hash, and drops it with the job', async () => {
    const before = Date.now();
    const { queues, dead, info } = await deadMails(3, ['acme']);
    await queues.pause('emails'); // retried jobs wait (they would die again at once)
    const entries = await rig.redis.xrange(dead, '-', '+');
    expect(entries).toHaveLength(4);
    // What a retry moves, and nothing else: no error, stack, reason, attempts or times.
    expect(fieldMap(entries[0][1]).keys()).toEqual(['id', 'l', 'p', 'q', 'ag']);
    expect(fieldMap(entries[3][1]).keys()).toEqual(['id', 'l', 'p', 'q', 'ag', 'g']);
    expect(Object.keys(await rig.redis.hgetall(info)).sort()).toEqual(
      entries.map(([e]) => e).sort(),
    );

    const listed = await queues.listDead('emails');
    expect(listed).toHaveLength(4);
    for (const job of listed) {
      expect(job).toMatchObject({ reason: 'failed', error: 'smtp down', attempts: 1, priority: 3 });
      expect(job.stack).toContain('smtp down');
      expect(job.enqueuedAt).toBeGreaterThanOrEqual(before);
      expect(job.failedAt).toBeGreaterThanOrEqual(job.enqueuedAt);
    }
    const [tagged] = await queues.listDead('emails', { tag: 'tenant:acme' });
    expect(tagged).toMatchObject({ id: listed[3].id, error: 'smtp down', attempts: 1 });
    expect(await queues.getJob('emails', listed[1].id)).toMatchObject({ error: 'smtp down' });

    expect(await queues.forgetDead('emails', listed[0].id)).toBe(true);
    expect(await rig.redis.hexists(info, entries[0][0])).toBe(0);
    expect(await queues.retryDead('emails', listed[1].id)).toBe(1);
    expect(await rig.redis.hexists(info, entries[1][0])).toBe(0);
    expect(await queues.retryDead('emails', 'all')).toBe(2);
    expect(await rig.redis.xlen(dead)).toBe(0);
    expect(await rig.redis.exists(info)).toBe(0);
  });

  it('prune and purge delete the info of the dead jobs they delete', async () => {
    const { queues, dead, info } = await deadMails(2);
    // Every dead job died at least 1 ms ago once Redis's clock has moved past the last one.
    const [last] = (await rig.redis.xrevrange(dead, '+', '-', 'COUNT', 1)).map(([e]) => e);
    const died = Number(last.split('-')[0]);
    await waitFor(async () => (await rig.now()) >= died + 2);
    expect(await queues.pruneDead('emails', { olderThanMs: 1 })).toBe(2);
    expect(await rig.redis.xlen(dead)).toBe(0);
    expect(await rig.redis.exists(info)).toBe(0);

    const again = await deadMails(2);
    expect(await rig.redis.hlen(again.info)).toBe(2);
    expect(await again.queues.purgeDead('emails')).toBe(2);
    expect(await rig.redis.exists(again.dead, again.info)).toBe(0);
  });

  it("prune, purge and obliterate delete the info an older version's forget, prune or purge left behind", async () => {
    const { queues, dead, info } = await deadMails(4);
    const index = dead.replace(/:dead$/, ':dead-index');
    const stored = await rig.redis.xrange(dead, '-', '+');
    const entries = stored.map(([entry]) => entry);
    // An older version's forget: the entry and its index field go, its info stays.
    await rig.redis.xdel(dead, entries[0], entries[2]);
    await rig.redis.hdel(index, ...[0, 2].map((i) => fieldMap(stored[i][1]).get('id')));
    await rig.redis.hset(info, 'not-an-entry', '{}');
    expect(await rig.redis.hlen(info)).toBe(5);
    // Nothing is old enough to prune: only the orphans go, the living dead keep their info.
    expect(await queues.pruneDead('emails', { olderThanMs: 3_600_000 })).toBe(0);
    expect((await rig.redis.hkeys(info)).sort()).toEqual(
      [entries[1], entries[3], 'not-an-entry'].sort(),
    );
    expect((await queues.listDead('emails')).map((job) => job.error)).toEqual([
      'smtp down',
      'smtp down',
    ]);

    // An older version's purge: the stream and index go, the info stays.
    await rig.redis.del(dead, index);
    expect(await queues.pruneDead('emails', { olderThanMs: 3_600_000 })).toBe(0);
    expect(await rig.redis.exists(info)).toBe(0);
    await rig.redis.hset(info, entries[1], '{}');
    expect(await queues.purgeDead('emails')).toBe(0);
    expect(await rig.redis.exists(info)).toBe(0);
    await rig.redis.hset(info, entries[1], '{}');
    await queues.obliterate('emails', { force: true });
    expect(await rig.redis.exists(info)).toBe(0);
  });

  it('lists, retries and forgets dead letters written by the layout before the info hash', async () => {
    const { queues, mailer, dead, info } = await deadMails(3);
    // Rewrite each dead entry as an older version stored it: the failure in the entry's fields,
    // no info hash. (The index points at the new entry ids, as it did then.)
    const index = dead.replace(/:dead$/, ':dead-index');
    const old: string[] = [];
    for (const [entry, fields] of await rig.redis.xrange(dead, '-', '+')) {
      const f = fieldMap(fields);
      const failure = JSON.parse((await rig.redis.hget(info, entry)) ?? '{}') as Record<
        string,
        string
      >;
      const written = await rig.redis.xadd(
        dead,
        '*',
        ...['id', f.get('id'), 'l', f.get('l'), 'p', f.get('p'), 'a', '2', 't', failure.t],
        ...['r', 'failed', 'e', `old ${f.get('id')}`, 's', 'Error: old\n    at x', 'f', failure.f],
        ...['q', '3', 'ag', '0'],
      );
      await rig.redis.xdel(dead, entry);
      await rig.redis.hset(index, f.get('id'), String(written));
      old.push(f.get('id'));
    }
    await rig.redis.del(info);

    const listed = await queues.listDead('emails');
    expect(listed.map((job) => job.id)).toEqual(old);
    for (const job of listed) {
      expect(job).toMatchObject({ error: `old ${job.id}`, attempts: 2, reason: 'failed' });
      expect(job).toMatchObject({ stack: 'Error: old\n    at x', priority: 3 });
      expect(job.enqueuedAt).toBeGreaterThan(0);
      expect(job.failedAt).toBeGreaterThanOrEqual(job.enqueuedAt);
    }
    expect((await queues.listDead('emails', { after: old[0], limit: 1 }))[0].id).toBe(old[1]);
    expect(await queues.getJob('emails', old[2])).toMatchObject({ error: `old ${old[2]}` });

    expect(await queues.forgetDead('emails', old[0])).toBe(true);
    mailer.isDown = false;
    expect(await queues.retryDead('emails', old[1])).toBe(1);
    expect(await queues.retryDead('emails', 'all')).toBe(1);
    await queues.drain();
    expect(mailer.sent).toHaveLength(2);
    expect(mailer.sent).toEqual(
      expect.arrayContaining([listed[1].payload?.data, listed[2].payload?.data]),
    );
    expect(await queues.counts('emails')).toMatchObject({ dead: 0, waiting: 0 });
    expect(await rig.redis.exists(index, info)).toBe(0);
  });
});
