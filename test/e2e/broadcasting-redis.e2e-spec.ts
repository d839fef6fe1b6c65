import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broadcaster, EventBus, type BroadcastPayload } from 'nestjs-events';
import {
  Announcement,
  OrderUpdated,
  record,
  subscribe,
  useBroadcastApps,
} from '../fixtures/broadcasting.fixtures.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

describe('Broadcasting across instances (one redis-server)', () => {
  let redis: RedisServer;
  const apps = useBroadcastApps();
  let seq = 0;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  async function twoInstances(): Promise<[INestApplication, INestApplication]> {
    const options = { redis: redis.url, prefix: `bc${++seq}` };
    return [await apps.start(options), await apps.start(options)];
  }

  it('a client on one instance gets what the other emits, once', async () => {
    const [a, b] = await twoInstances();
    const onB = await apps.client(b, 't-ann');
    const onA = await apps.client(a, 't-ann');
    for (const s of [onA, onB]) {
      expect(await subscribe(s, 'private-orders.1')).toEqual({ ok: true });
      expect(await subscribe(s, 'news')).toEqual({ ok: true });
    }
    const got = [onA, onB].map((s) => record<BroadcastPayload>(s, 'order.updated'));
    const done = [onA, onB].map((s) => record(s, 'news.flash'));
    const bus = a.get(EventBus);
    await bus.emit(new OrderUpdated('1', 1, false));
    await bus.emit(new OrderUpdated('1', 2, true)); // a job: either instance's worker sends it
    await waitFor(() => got.every((g) => g.length === 2));
    await bus.emit(new Announcement('done'));
    await waitFor(() => done.every((d) => d.length === 1));
    for (const g of got) {
      expect(g.map((p) => (p.data as { seq: number }).seq).sort()).toEqual([1, 2]);
    }
    // Both instances see both sockets in the room.
    expect((await b.get(Broadcaster).socketsIn('private-orders.1')).sort()).toEqual(
      [onA.id, onB.id].sort(),
    );
  });

  it('presence members cross instances', async () => {
    const [a, b] = await twoInstances();
    const ann = await apps.client(a, 't-ann');
    const bob = await apps.client(b, 't-bob');
    const joining = record(ann, 'presence:joining');
    const leaving = record(ann, 'presence:leaving');
    await subscribe(ann, 'presence-room.1');
    const ack = await subscribe(bob, 'presence-room.1');
    expect(ack.members).toEqual(
      expect.arrayContaining([
        { id: 'u1', name: 'Ann' },
        { id: 'u2', name: 'Bob' },
      ]),
    );
    await waitFor(() => joining.length === 1);
    bob.disconnect();
    await waitFor(() => leaving.length === 1);
    expect(leaving).toEqual([{ channel: 'presence-room.1', member: { id: 'u2', name: 'Bob' } }]);
  });
});
