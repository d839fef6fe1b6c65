import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventFacade,
  EventStore,
  EventQueues,
  EventsNotificationsModule,
  NotificationChannel,
  Notifier,
  UnknownNotificationChannelError,
  WEBHOOK_SIGNATURE_HEADER,
  type Notification,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

const SECRET = 'a-test-secret-of-some-length';

@NotificationChannel('email')
@Injectable()
class EmailChannel {
  readonly sent: Notification[] = [];
  send(notification: Notification): void {
    this.sent.push(notification);
  }
}

/** Fails its first two attempts, then succeeds. */
@NotificationChannel('push', { tries: 3, backoff: 0 })
@Injectable()
class PushChannel {
  attempts = 0;
  readonly sent: Notification[] = [];
  send(notification: Notification): void {
    if (++this.attempts <= 2) throw new Error(`push gateway down (${this.attempts})`);
    this.sent.push(notification);
  }
}

interface Hook {
  readonly body: string;
  readonly headers: Record<string, unknown>;
}

/** A local HTTP receiver that answers `statuses` in turn (then 204). */
async function receiver(
  statuses: number[] = [],
): Promise<{ server: Server; url: string; hooks: Hook[] }> {
  const hooks: Hook[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      hooks.push({ body, headers: req.headers });
      res.statusCode = statuses.shift() ?? 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}/hooks`, hooks };
}

describe('Notifications', () => {
  let app: INestApplicationContext | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    EventFacade.restore();
    await app?.close();
    server?.close();
    app = server = undefined;
  });

  const start = () =>
    createTestApp({
      imports: [
        EventsNotificationsModule.forRoot({
          channels: [EmailChannel, PushChannel],
          webhook: { secret: SECRET, tries: 2, backoff: 0 },
        }),
      ],
    });

  it('one job per channel: a channel failing twice then succeeding blocks nothing', async () => {
    app = await start();
    const id = await app.get(Notifier).notify({
      channels: ['email', 'push'],
      template: 'welcome',
      to: 'u1',
      data: { name: 'Ann' },
    });
    const email = app.get(EmailChannel);
    const push = app.get(PushChannel);
    await waitFor(() => push.sent.length === 1);
    expect(push.attempts).toBe(3);
    expect(email.sent).toEqual([
      { id, channel: 'email', template: 'welcome', to: 'u1', data: { name: 'Ann' } },
    ]);
    expect(push.sent).toEqual([
      { id, channel: 'push', template: 'welcome', to: 'u1', data: { name: 'Ann' } },
    ]);
    expect(await app.get(EventQueues).listDead('notifications')).toEqual([]);
  });

  it("is the library's own event: '**' listeners and the event store do not see it", async () => {
    app = await createTestApp(
      { imports: [EventsNotificationsModule.forRoot({ channels: [EmailChannel, PushChannel] })] },
      { store: { record: true } },
    );
    const seen: string[] = [];
    const explicit: string[] = [];
    const bus = app.get(EventBus);
    bus.on('**', (event) => void seen.push(event.name));
    bus.on('nestjs-events.**', (event) => void explicit.push(event.name));
    await app.get(Notifier).notify({ channels: ['email'], template: 'welcome', to: 'u1' });
    await bus.emit('user.signed-up', { id: 'u1' });
    await waitFor(() => app!.get(EmailChannel).sent.length === 1);
    expect(seen).toEqual(['user.signed-up']);
    expect(explicit).toEqual(['nestjs-events.notify.email']);
    const recorded: string[] = [];
    for await (const event of app.get(EventStore).readAll()) recorded.push(event.name);
    expect(recorded).toEqual(['user.signed-up']);
  });

  it('webhook: a signed JSON POST, retried after a 500', async () => {
    const hook = await receiver([500]);
    server = hook.server;
    app = await start();
    const id = await app.get(Notifier).notify({
      channels: ['webhook'],
      template: 'order.paid',
      to: hook.url,
      data: { orderId: 'o1' },
    });
    await waitFor(() => hook.hooks.length === 2);
    for (const { body, headers } of hook.hooks) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      expect(headers[WEBHOOK_SIGNATURE_HEADER]).toBe(expected);
      expect(headers['content-type']).toBe('application/json');
      expect(JSON.parse(body)).toEqual({ id, template: 'order.paid', data: { orderId: 'o1' } });
    }
    const other = createHmac('sha256', 'another-secret-value')
      .update(hook.hooks[0].body)
      .digest('hex');
    expect(hook.hooks[0].headers[WEBHOOK_SIGNATURE_HEADER]).not.toBe(`sha256=${other}`);
  });

  it('refuses an unknown channel before anything is stored; assertNotified', async () => {
    app = await start();
    EventFacade.fake();
    const notifier = app.get(Notifier);
    await expect(
      notifier.notify({ channels: ['email', 'sms'], template: 'welcome', to: 'u1' }),
    ).rejects.toThrow(UnknownNotificationChannelError);
    EventFacade.assertNothingDispatched();
    await notifier.notify({ channels: ['email', 'push'], template: 'welcome', to: 'u1' });
    EventFacade.assertNotified('email');
    EventFacade.assertNotified('push', (n) => n.template === 'welcome' && n.to === 'u1');
    expect(() => EventFacade.assertNotified('push', (n) => n.to === 'u2')).toThrow(/matching/);
    expect(() => EventFacade.assertNotified('webhook')).toThrow(/none was sent/);
    expect(app.get(EmailChannel).sent).toEqual([]);
  });
});
