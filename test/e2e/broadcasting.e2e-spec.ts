import type { INestApplication } from '@nestjs/common';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Broadcaster, EventBus, type BroadcastPayload } from 'nestjs-events';
import {
  Announcement,
  OrderUpdated,
  connectClient,
  record,
  startBroadcastApp,
  subscribe,
} from '../fixtures/broadcasting.fixtures.js';
import { waitFor } from '../support/wait-for.js';

describe('Broadcasting over socket.io', () => {
  let app: INestApplication | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.disconnect());
    await app?.close();
    app = undefined;
  });
  const client = async (token?: string): Promise<Socket> => {
    const socket = await connectClient(app!, token);
    sockets.push(socket);
    return socket;
  };

  it('delivers 100 broadcasts in order to the authorized user only', async () => {
    app = await startBroadcastApp();
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
});
