import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from 'nestjs-events';
import { BroadcastClient, type SubscribeResult } from 'nestjs-events/broadcast-client';
import {
  Announcement,
  Directory,
  OrderUpdated,
  startBroadcastApp,
} from '../fixtures/broadcasting.fixtures.js';
import { waitFor } from '../support/wait-for.js';

describe('nestjs-events/broadcast-client', () => {
  let app: INestApplication | undefined;
  const clients: BroadcastClient[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    await app?.close();
    app = undefined;
  });
  const client = async (token?: string): Promise<BroadcastClient> => {
    const c = new BroadcastClient({
      url: await app!.getUrl(),
      auth: token ? { token } : {},
      socket: { transports: ['websocket'], reconnectionDelay: 10, reconnectionDelayMax: 50 },
    });
    clients.push(c);
    await new Promise<void>((resolve) => c.socket.once('connect', () => resolve()));
    return c;
  };

  it('listens on public and private channels; re-subscribes after a reconnect, refused once revoked', async () => {
    app = await startBroadcastApp();
    const ann = await client('t-ann');
    const orders: unknown[] = [];
    const news: string[] = [];
    const acks: SubscribeResult[] = [];
    const refusals: SubscribeResult[] = [];
    ann
      .private('orders.1')
      .listen<{ seq: number }>('order.updated', (data) => orders.push(data.seq))
      .subscribed((r) => acks.push(r))
      .error((r) => refusals.push(r));
    ann.channel('news').listen<{ text: string }>('news.flash', (data) => news.push(data.text));
    await waitFor(() => acks.length === 1 && ann.channel('news').last?.ok === true);
    const bus = app.get(EventBus);
    await bus.emit(new OrderUpdated('1', 1));
    await bus.emit(new Announcement('hello'));
    await waitFor(() => news.length === 1);
    expect(orders).toEqual([1]);

    ann.socket.io.engine.close(); // a dropped connection: the client reconnects and subscribes again
    await waitFor(() => acks.length === 2);
    app.get(Directory).orders.get('1')!.delete('u1');
    ann.socket.io.engine.close();
    await waitFor(() => refusals.length === 1);
    expect(refusals).toEqual([{ ok: false, error: 'forbidden' }]);
    await bus.emit(new OrderUpdated('1', 2));
    await bus.emit(new Announcement('after'));
    await waitFor(() => news.length === 2);
    expect(orders).toEqual([1]);
  });

  it('presence: here, joining, leaving', async () => {
    app = await startBroadcastApp();
    const ann = await client('t-ann');
    const seen: string[] = [];
    ann
      .join('room.3')
      .here<{ name: string }>((members) =>
        seen.push(`here:${members.map((m) => m.name).join(',')}`),
      )
      .joining<{ name: string }>((m) => seen.push(`joining:${m.name}`))
      .leaving<{ name: string }>((m) => seen.push(`leaving:${m.name}`));
    await waitFor(() => seen.length === 1);
    const bob = await client('t-bob');
    const bobSaw: unknown[][] = [];
    bob.join('room.3').here((members) => bobSaw.push(members));
    await waitFor(() => seen.length === 2 && bobSaw.length === 1);
    expect(bobSaw[0]).toHaveLength(2);
    bob.leave('room.3');
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual(['here:Ann', 'joining:Bob', 'leaving:Bob']);
  });
});
