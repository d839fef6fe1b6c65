import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Broadcaster,
  Channel,
  EventBus,
  EventFacade,
  EventsBroadcastingModule,
  EventsModule,
  type BroadcastPayload,
  type EventsBroadcastingOptions,
} from 'nestjs-events';
import {
  Announcement,
  Channels,
  DirectoryModule,
  OrderUpdated,
  TokenAuthenticator,
  record,
  subscribe,
  useBroadcastApps,
} from '../fixtures/broadcasting.fixtures.js';
import { waitFor } from '../support/wait-for.js';

describe('Broadcaster: direct broadcasts, retries, the fake', () => {
  const apps = useBroadcastApps();
  afterEach(() => {
    EventFacade.restore();
    vi.restoreAllMocks();
  });

  it('broadcast(channels, name, data) reaches the clients subscribed to those channels', async () => {
    const app = await apps.start();
    const [ann, bob] = [await apps.client(app, 't-ann'), await apps.client(app, 't-bob')];
    await subscribe(ann, 'private-orders.1');
    await subscribe(bob, 'news');
    const annGot = record<BroadcastPayload>(ann, 'maintenance');
    const bobGot = record<BroadcastPayload>(bob, 'maintenance');
    await app
      .get(Broadcaster)
      .broadcast([Channel('news'), 'private-orders.1'], 'maintenance', { at: '22:00' });
    await waitFor(() => annGot.length === 1 && bobGot.length === 1);
    expect(annGot[0]).toMatchObject({ channel: 'private-orders.1', data: { at: '22:00' } });
    expect(bobGot[0]).toMatchObject({ channel: 'news', data: { at: '22:00' } });
    expect(annGot[0].id).toBe(bobGot[0].id);
  });

  it('a queued broadcast whose send fails is retried, then delivered once', async () => {
    const app = await apps.start({ defaults: { tries: 3, backoff: 0 } });
    const ann = await apps.client(app, 't-ann');
    await subscribe(ann, 'private-orders.1');
    const got = record<BroadcastPayload>(ann, 'order.updated');
    const broadcaster = app.get(Broadcaster);
    const send = vi.spyOn(broadcaster, 'send');
    send.mockRejectedValueOnce(new Error('socket.io adapter down'));
    await app.get(EventBus).emit(new OrderUpdated('1', 7, true));
    await waitFor(() => got.length === 1);
    expect(send).toHaveBeenCalledTimes(2);
    expect(got[0]).toMatchObject({ channel: 'private-orders.1', data: { seq: 7 } });
    // Sent after the retried one: had it been delivered twice, the copy would come first.
    await app.get(EventBus).emit(new OrderUpdated('1', 8));
    await waitFor(() => got.length === 2);
    expect(got.map((p) => (p.data as { seq: number }).seq)).toEqual([7, 8]);
  });

  it('under fake() a direct broadcast reaches no client and assertBroadcast sees it', async () => {
    const app = await apps.start();
    const ann = await apps.client(app, 't-ann');
    await subscribe(ann, 'news');
    const got = record<BroadcastPayload>(ann, 'maintenance');
    const flashes = record<BroadcastPayload>(ann, 'news.flash');
    EventFacade.fake();
    await app.get(Broadcaster).broadcast(Channel('news'), 'maintenance', { at: '22:00' });
    EventFacade.assertBroadcast('maintenance', 'news');
    expect(() => EventFacade.assertBroadcast('maintenance', 'private-orders.1')).toThrow(/"news"/);
    EventFacade.restore();
    // Ordered after the faked one: had it been sent, it would have arrived first.
    await app.get(EventBus).emit(new Announcement('after'));
    await waitFor(() => flashes.length === 1);
    expect(got).toEqual([]);
  });
});

describe('Broadcasting options and logs', () => {
  let app: INestApplication | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.disconnect());
    vi.restoreAllMocks();
    await app?.close();
    app = undefined;
  });

  async function start(options: Partial<EventsBroadcastingOptions> = {}): Promise<string> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventsModule.forRoot(),
        EventsBroadcastingModule.forRoot({
          authenticator: TokenAuthenticator,
          imports: [DirectoryModule],
          ...options,
        }),
        DirectoryModule,
      ],
      providers: [Channels],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    return app.getUrl();
  }

  function connect(url: string, path: string, token?: string): Promise<Socket> {
    const socket = io(url, {
      path,
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
    });
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }

  it('custom path: clients connect there and receive; the default path is not served', async () => {
    const url = await start({ path: '/live' });
    const ann = await connect(url, '/live', 't-ann');
    expect(await subscribe(ann, 'news')).toEqual({ ok: true });
    const got = record<BroadcastPayload>(ann, 'news.flash');
    await app!.get(EventBus).emit(new Announcement('hi'));
    await waitFor(() => got.length === 1);
    expect(got[0]).toMatchObject({ channel: 'news', data: { text: 'hi' } });
    await expect(connect(url, '/socket.io', 't-ann')).rejects.toThrow();
  });

  it('cors: the allowed origin gets its header, another origin does not', async () => {
    const url = await start({ cors: { origin: ['http://allowed.test'], credentials: true } });
    const poll = (origin: string) =>
      fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
    const allowed = await poll('http://allowed.test');
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://allowed.test');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    await allowed.body?.cancel();
    const other = await poll('http://other.test');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    await other.body?.cancel();
  });

  it('an authorizer that throws is logged with its error, and the channel refused', async () => {
    const errors: string[] = [];
    vi.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(String(message));
    });
    const url = await start();
    const ann = await connect(url, '/socket.io', 't-ann');
    expect(await subscribe(ann, 'private-broken.1')).toEqual({ ok: false, error: 'forbidden' });
    expect(errors).toEqual([
      expect.stringMatching(/authorizer .*threw for "private-broken\.1".*authorizer bug/),
    ]);
  });
});
