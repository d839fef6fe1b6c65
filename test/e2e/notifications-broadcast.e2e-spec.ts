import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BroadcastChannel,
  EventFacade,
  EventQueues,
  EventsBroadcastingModule,
  EventsModule,
  EventsNotificationsModule,
  InvalidOptionError,
  NotificationChannel,
  Notifier,
  type BroadcastPayload,
  type Notification,
} from 'nestjs-events';
import {
  connectClient,
  DirectoryModule,
  record,
  subscribe,
  TokenAuthenticator,
  type TestUser,
} from '../fixtures/broadcasting.fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** Each user may listen on their own notifications channel only. */
@Injectable()
class NotificationChannels {
  @BroadcastChannel('notifications.{userId}')
  own(user: TestUser, { userId }: { userId: string }): boolean {
    return user.id === userId;
  }
}

@NotificationChannel('email')
@Injectable()
class EmailChannel {
  readonly sent: Notification[] = [];
  send(notification: Notification): void {
    this.sent.push(notification);
  }
}

/** Always fails: dead-lettered after its two tries. */
@NotificationChannel('sms', { tries: 2, backoff: 0 })
@Injectable()
class SmsChannel {
  attempts = 0;
  send(): void {
    throw new Error(`sms gateway down (${++this.attempts})`);
  }
}

describe('Notifications over the broadcast channel', () => {
  let app: INestApplication | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    EventFacade.restore();
    sockets.splice(0).forEach((s) => s.disconnect());
    await app?.close();
    app = undefined;
  });

  async function start(): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventsModule.forRoot(),
        EventsBroadcastingModule.forRoot({
          authenticator: TokenAuthenticator,
          imports: [DirectoryModule],
        }),
        EventsNotificationsModule.forRoot({ channels: [EmailChannel, SmsChannel] }),
        DirectoryModule,
      ],
      providers: [NotificationChannels],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    return app;
  }

  async function client(token: string): Promise<Socket> {
    const socket = await connectClient(app!, token);
    sockets.push(socket);
    return socket;
  }

  it("delivers to the recipient's private channel, to an authorized client only", async () => {
    await start();
    const [ann, bob] = [await client('t-ann'), await client('t-bob')];
    expect(await subscribe(ann, 'private-notifications.u1')).toEqual({ ok: true });
    expect(await subscribe(bob, 'private-notifications.u1')).toEqual({
      ok: false,
      error: 'forbidden',
    });
    expect(await subscribe(bob, 'private-notifications.u2')).toEqual({ ok: true });
    const annGot = record<BroadcastPayload>(ann, 'welcome');
    const bobGot = record<BroadcastPayload>(bob, 'welcome');
    const notifier = app!.get(Notifier);
    const id = await notifier.notify({
      channels: ['broadcast'],
      template: 'welcome',
      to: 'u1',
      data: { name: 'Ann' },
    });
    await waitFor(() => annGot.length === 1);
    expect(annGot).toEqual([{ channel: 'private-notifications.u1', id, data: { name: 'Ann' } }]);
    // Sent after Ann's: had Bob received hers, it would have arrived first.
    await notifier.notify({ channels: ['broadcast'], template: 'welcome', to: 'u2' });
    await waitFor(() => bobGot.length === 1);
    expect(bobGot).toMatchObject([{ channel: 'private-notifications.u2', data: {} }]);
  });

  it('refuses a `to` that forms no channel name before anything is stored', async () => {
    await start();
    EventFacade.fake();
    const notifier = app!.get(Notifier);
    for (const to of ['ann@example.com', 'a b', 'x'.repeat(200)]) {
      await expect(
        notifier.notify({ channels: ['email', 'broadcast'], template: 'welcome', to }),
      ).rejects.toThrow(InvalidOptionError);
    }
    EventFacade.assertNothingDispatched();
    // Other channels take any recipient.
    await notifier.notify({ channels: ['email'], template: 'welcome', to: 'ann@example.com' });
    EventFacade.assertNotified('email', (n) => n.to === 'ann@example.com');
  });

  it('a channel that exhausts its tries is dead-lettered alone; the others deliver', async () => {
    await start();
    const ann = await client('t-ann');
    await subscribe(ann, 'private-notifications.u1');
    const got = record<BroadcastPayload>(ann, 'welcome');
    const id = await app!.get(Notifier).notify({
      channels: ['sms', 'email', 'broadcast'],
      template: 'welcome',
      to: 'u1',
    });
    const queues = app!.get(EventQueues);
    await waitFor(async () => (await queues.listDead('notifications')).length === 1);
    const dead = await queues.listDead('notifications');
    expect(dead).toMatchObject([
      {
        listener: expect.stringContaining('sms'),
        attempts: 2,
        error: expect.stringContaining('sms gateway down (2)'),
      },
    ]);
    expect(dead[0].payload?.data).toMatchObject({ id, channel: 'sms' });
    await waitFor(() => got.length === 1 && app!.get(EmailChannel).sent.length === 1);
    expect(got[0]).toMatchObject({ id, channel: 'private-notifications.u1' });
    expect(app!.get(EmailChannel).sent).toMatchObject([{ id, channel: 'email', to: 'u1' }]);
    expect(app!.get(SmsChannel).attempts).toBe(2);
  });
});
