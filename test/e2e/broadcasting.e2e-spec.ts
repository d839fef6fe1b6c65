import type { INestApplication } from '@nestjs/common';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Broadcaster,
  EventAssertionError,
  EventBus,
  EventFacade,
  InvalidChannelNameError,
  PrivateChannel,
  type BroadcastPayload,
} from 'nestjs-events';
import {
  Announcement,
  BadChannelEvent,
  Channels,
  Directory,
  OrderUpdated,
  connectClient,
  record,
  startBroadcastApp,
  subscribe,
  useBroadcastApps,
} from '../fixtures/broadcasting.fixtures.js';
import { waitFor } from '../support/wait-for.js';

describe('Broadcasting over socket.io', () => {
  const apps = useBroadcastApps();
  let app: INestApplication;
  const client = (token?: string): Promise<Socket> => apps.client(app, token);

  it('delivers 100 broadcasts in order to the authorized user only', async () => {
    app = await apps.start();
    const [ann, bob, anonymous] = [await client('t-ann'), await client('t-bob'), await client()];
    expect(await subscribe(ann, 'private-orders.1')).toEqual({ ok: true });
    expect(await subscribe(bob, 'private-orders.1')).toEqual({ ok: false, error: 'forbidden' });
    expect(await subscribe(anonymous, 'private-orders.1')).toEqual({
      ok: false,
      error: 'forbidden',
    });
    const received = [ann, bob, anonymous].map((s) => record<BroadcastPayload>(s, 'order.updated'));
    const done = [ann, bob, anonymous].map((s) => record(s, 'news.flash'));
    for (const s of [ann, bob, anonymous]) expect(await subscribe(s, 'news')).toEqual({ ok: true });

    const bus = app.get(EventBus);
    for (let seq = 1; seq <= 100; seq++) await bus.emit(new OrderUpdated('1', seq));
    // The end marker: a socket receives in emit order, so once it has it, it has everything.
    await bus.emit(new Announcement('done'));
    await waitFor(() => done.every((d) => d.length === 1));

    expect(received[0].map((p) => (p.data as { seq: number }).seq)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    expect(received[0][0]).toMatchObject({ channel: 'private-orders.1', data: { orderId: '1' } });
    expect(received[1]).toEqual([]);
    expect(received[2]).toEqual([]);
    expect(await app.get(Broadcaster).socketsIn('private-orders.1')).toEqual([ann.id]);
  });

  it('refuses bad channel names: at subscribe with an ack, at emit with a typed error', async () => {
    app = await apps.start();
    const ann = await client('t-ann');
    for (const bad of ['orders.*', 'private-orders 1', 'private-оrders.1', 'a'.repeat(201), '']) {
      expect(await subscribe(ann, bad)).toEqual({ ok: false, error: 'invalid_channel' });
    }
    expect(await subscribe(ann, 42)).toEqual({ ok: false, error: 'bad_request' });
    expect(() => PrivateChannel('orders.#1')).toThrow(InvalidChannelNameError);
    const bus = app.get(EventBus);
    // Refused by the emit itself, plain or async: nothing is stored, no listener runs.
    const seen = record(ann, 'bad.channel');
    const heard: unknown[] = [];
    bus.on('bad.channel', (event) => void heard.push(event));
    await expect(bus.emit(new BadChannelEvent('room *'))).rejects.toThrow(InvalidChannelNameError);
    await expect(bus.emitAsync(new BadChannelEvent('room *'))).rejects.toThrow(
      InvalidChannelNameError,
    );
    await bus.emitAsync(new BadChannelEvent('room.1'));
    expect(heard).toHaveLength(1);
    expect(seen).toEqual([]);
    await expect(
      app.get(Broadcaster).broadcast(['news', 'private-orders.*'], 'x', {}),
    ).rejects.toThrow(InvalidChannelNameError);
  });

  it('refuses a channel whose authorizer throws, or that no authorizer matches', async () => {
    app = await apps.start();
    const ann = await client('t-ann');
    expect(await subscribe(ann, 'private-broken.1')).toEqual({ ok: false, error: 'forbidden' });
    expect(await subscribe(ann, 'presence-broken.1')).toEqual({ ok: false, error: 'forbidden' });
    expect(await subscribe(ann, 'private-nobody.1')).toEqual({ ok: false, error: 'forbidden' });
    // A private authorizer's answer is not a presence member (deny unless an object).
    expect(await subscribe(ann, 'presence-orders.1')).toEqual({ ok: false, error: 'forbidden' });
    expect(await app.get(Broadcaster).socketsIn('private-broken.1')).toEqual([]);
  });

  it('authorizes again on reconnect: revoked access is refused', async () => {
    app = await apps.start();
    const ann = await apps.client(app, 't-ann', { reconnection: true });
    const acks: unknown[] = [];
    ann.on('connect', () => void subscribe(ann, 'private-orders.1').then((a) => acks.push(a)));
    expect(await subscribe(ann, 'private-orders.1')).toEqual({ ok: true });
    const calls = app.get(Channels).calls;
    app.get(Directory).orders.get('1')!.delete('u1');
    ann.io.engine.close();
    await waitFor(() => acks.length === 1);
    expect(acks).toEqual([{ ok: false, error: 'forbidden' }]);
    expect(app.get(Channels).calls).toBe(calls + 1);
    expect(await app.get(Broadcaster).socketsIn('private-orders.1')).toEqual([]);
  });
});

describe('EventFacade and broadcasts', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    EventFacade.restore();
    await app?.close();
    app = undefined;
  });

  it('fake() broadcasts nothing; assertBroadcast checks where it would go', async () => {
    app = await startBroadcastApp();
    const ann = await connectClient(app, 't-ann');
    try {
      await subscribe(ann, 'private-orders.1');
      const got = record(ann, 'order.updated');
      EventFacade.fake();
      await app.get(EventBus).emit(new OrderUpdated('1', 1));
      await app.get(EventBus).emit(new OrderUpdated('2', 2, true, false));
      EventFacade.assertBroadcast(OrderUpdated, 'private-orders.1');
      EventFacade.assertBroadcast('order.updated', 'private-orders.1');
      expect(() => EventFacade.assertBroadcast(OrderUpdated, 'private-orders.2')).toThrow(
        /broadcastWhen/,
      );
      expect(() => EventFacade.assertBroadcast(OrderUpdated, 'private-orders.3')).toThrow(
        EventAssertionError,
      );
      EventFacade.restore();
      // Ordered after the faked one: had it been sent, it would arrive first.
      await app.get(EventBus).emit(new OrderUpdated('1', 9));
      await waitFor(() => got.length === 1);
      expect(got).toMatchObject([{ data: { seq: 9 } }]);
    } finally {
      ann.disconnect();
    }
  });
});
