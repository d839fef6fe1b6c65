import type { INestApplication } from '@nestjs/common';
import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { EventBus, type BroadcastPayload } from 'nestjs-events';
import {
  Announcement,
  OrderUpdated,
  record,
  subscribe,
  useBroadcastApps,
} from '../fixtures/broadcasting.fixtures.js';
import { waitFor } from '../support/wait-for.js';

describe('Broadcast delivery: presence, to others, queued', () => {
  const apps = useBroadcastApps();
  let app: INestApplication;
  const client = (token?: string): Promise<Socket> => apps.client(app, token);

  it('presence: members on subscribe, joining and leaving once per member', async () => {
    app = await apps.start();
    const [ann, annTab, bob] = [
      await client('t-ann'),
      await client('t-ann'),
      await client('t-bob'),
    ];
    const annSees = {
      joining: record(ann, 'presence:joining'),
      leaving: record(ann, 'presence:leaving'),
    };
    const bobHere = record(bob, 'presence:here');
    expect(await subscribe(ann, 'presence-room.7')).toEqual({
      ok: true,
      members: [{ id: 'u1', name: 'Ann' }],
    });
    // A second tab of the same member: listed once, no joining for it.
    expect(await subscribe(annTab, 'presence-room.7')).toMatchObject({ ok: true });
    const ack = await subscribe(bob, 'presence-room.7');
    expect(ack.members).toHaveLength(2);
    expect(ack.members).toEqual(
      expect.arrayContaining([
        { id: 'u1', name: 'Ann' },
        { id: 'u2', name: 'Bob' },
      ]),
    );
    await waitFor(() => bobHere.length === 1 && annSees.joining.length === 1);
    expect(bobHere[0]).toEqual({ channel: 'presence-room.7', members: ack.members });
    expect(annSees.joining).toEqual([
      { channel: 'presence-room.7', member: { id: 'u2', name: 'Bob' } },
    ]);

    bob.disconnect();
    await waitFor(() => annSees.leaving.length === 1);
    expect(annSees.leaving).toEqual([
      { channel: 'presence-room.7', member: { id: 'u2', name: 'Bob' } },
    ]);
    const bobAgain = await client('t-bob');
    const bobLeaving = record(bobAgain, 'presence:leaving');
    await subscribe(bobAgain, 'presence-room.7');
    annTab.disconnect(); // Ann still has a tab: not leaving.
    expect(await bobAgain.emitWithAck('unsubscribe', { channel: 'presence-room.7' })).toEqual({
      ok: true,
    });
    expect(await subscribe(bobAgain, 'presence-room.7')).toMatchObject({ ok: true });
    // Ordered after the tab's disconnect: had Ann been announced leaving, it would be here.
    await ann.emitWithAck('unsubscribe', { channel: 'presence-room.7' });
    await waitFor(() => bobLeaving.length === 1);
    expect(bobLeaving).toEqual([{ channel: 'presence-room.7', member: { id: 'u1', name: 'Ann' } }]);
  });

  it('to others: a broadcast caused by a request skips the X-Socket-Id socket', async () => {
    app = await apps.start();
    const [tab1, tab2] = [await client('t-ann'), await client('t-ann')];
    const got = [tab1, tab2].map((s) => record<BroadcastPayload>(s, 'order.updated'));
    for (const s of [tab1, tab2]) await subscribe(s, 'private-orders.1');
    for (const queued of [false, true]) {
      const response = await fetch(`${await app.getUrl()}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-socket-id': tab1.id! },
        body: JSON.stringify({ orderId: '1', seq: queued ? 2 : 1, queued }),
      });
      expect(response.status).toBe(201);
    }
    await waitFor(() => got[1].length === 2);
    // Sent after both, to both: once tab1 has it, it would also have had the two others.
    await app.get(EventBus).emit(new OrderUpdated('1', 3));
    await waitFor(() => got[0].length === 1 && got[1].length === 3);
    expect(got[0].map((p) => (p.data as { seq: number }).seq)).toEqual([3]);
  });

  it('queued and immediate broadcasts, and broadcastWhen', async () => {
    app = await apps.start();
    const ann = await client('t-ann');
    await subscribe(ann, 'private-orders.1');
    await subscribe(ann, 'news');
    const orders = record<BroadcastPayload>(ann, 'order.updated');
    const news = record<BroadcastPayload>(ann, 'news.flash');
    const bus = app.get(EventBus);
    await bus.emit(new OrderUpdated('1', 1, true));
    await bus.emit(new OrderUpdated('1', 2, false, false)); // broadcastWhen() false
    await bus.emit(new OrderUpdated('1', 3, true, false));
    await bus.emit(new OrderUpdated('1', 4, false));
    await bus.emit(new Announcement('queued', true));
    await waitFor(() => orders.length === 2 && news.length === 1);
    // The queued one went through a job on the broadcasts queue.
    expect(bus.listeners('nestjs-events.broadcast').filter((l) => l.isQueued)).toMatchObject([
      { queue: 'broadcasts' },
    ]);
    expect(orders.map((p) => (p.data as { seq: number }).seq).sort()).toEqual([1, 4]);
    expect(news[0]).toMatchObject({ channel: 'news', data: { text: 'queued', queued: true } });
    // broadcastWhen false: sent after both skipped ones, the marker arrives with nothing else.
    await bus.emit(new Announcement('end'));
    await waitFor(() => news.length === 2);
    expect(orders).toHaveLength(2);
  });
});
