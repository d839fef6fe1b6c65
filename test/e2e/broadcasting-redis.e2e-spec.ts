import type { INestApplication } from '@nestjs/common';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Broadcaster, EventBus, type BroadcastPayload } from 'nestjs-events';
import {
  Announcement,
  OrderUpdated,
  connectClient,
  record,
  startBroadcastApp,
  subscribe,
} from '../fixtures/broadcasting.fixtures.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

describe('Broadcasting across instances (one redis-server)', () => {
  let redis: RedisServer;
  const apps: INestApplication[] = [];
  const sockets: Socket[] = [];
  let seq = 0;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.disconnect());
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function twoInstances(): Promise<[INestApplication, INestApplication]> {
    const options = { redis: redis.url, prefix: `bc${++seq}` };
    const a = await startBroadcastApp(options);
    apps.push(a);
    const b = await startBroadcastApp(options);
    apps.push(b);
    return [a, b];
  }

  it('a client on one instance gets what the other emits, once', async () => {
    const [a, b] = await twoInstances();
    const onB = await connectClient(b, 't-ann');
    const onA = await connectClient(a, 't-ann');
    sockets.push(onA, onB);
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
    const ann = await connectClient(a, 't-ann');
    const bob = await connectClient(b, 't-bob');
    sockets.push(ann, bob);
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
