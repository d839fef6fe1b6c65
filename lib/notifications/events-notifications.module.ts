import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { BroadcastNotificationChannel } from './broadcast.channel.js';
import {
  notificationChannelOf,
  type NotificationChannelMetadata,
} from './notification-channel.decorator.js';
import { notificationJobs } from './notification.jobs.js';
import type { NotificationSender } from './notification.js';
import { NOTIFICATION_CHANNELS, NOTIFICATIONS_OPTIONS } from './notifications.constants.js';
import {
  resolveNotificationsOptions,
  type EventsNotificationsOptions,
} from './notifications.options.js';
import { Notifier } from './notifier.js';
import { WebhookChannel } from './webhook.channel.js';

/**
 * Notification channels over queued jobs: `Notifier.notify` stores one job per channel. Needs
 * `EventsModule.forRoot`. Built in: `broadcast` (with `EventsBroadcastingModule`) and `webhook`
 * (with `webhook.secret`).
 */
@Module({})
export class EventsNotificationsModule {
  /**
   * The module with these channels.
   *
   * @example
   * EventsNotificationsModule.forRoot({ channels: [EmailChannel, PushChannel], webhook: { secret } })
   */
  static forRoot(options: EventsNotificationsOptions = {}): DynamicModule {
    const resolved = resolveNotificationsOptions(options);
    const channels = new Map<
      string,
      { sender: Type<NotificationSender>; meta: NotificationChannelMetadata }
    >();
    const add = (
      sender: Type<NotificationSender>,
      meta: NotificationChannelMetadata | undefined,
    ) => {
      if (meta === undefined) {
        throw new InvalidOptionError(
          'notifications.channels',
          sender,
          'classes decorated with @NotificationChannel',
        );
      }
      if (channels.has(meta.name)) {
        throw new InvalidOptionError(
          'notifications.channels',
          meta.name,
          'one provider per channel name',
        );
      }
      channels.set(meta.name, { sender, meta });
    };
    add(BroadcastNotificationChannel, { name: 'broadcast' });
    if (resolved.webhook) {
      const { tries, backoff } = resolved.webhook;
      add(WebhookChannel, { name: 'webhook', tries, backoff });
    }
    for (const sender of resolved.channels) add(sender, notificationChannelOf(sender));
    const providers: Provider[] = [
      { provide: NOTIFICATIONS_OPTIONS, useValue: resolved },
      { provide: NOTIFICATION_CHANNELS, useValue: [...channels.keys()] },
      Notifier,
    ];
    for (const { sender, meta } of channels.values()) {
      providers.push(sender, notificationJobs(sender, meta, resolved.queue));
    }
    return {
      module: EventsNotificationsModule,
      global: true,
      imports: [...resolved.imports],
      providers,
      exports: [Notifier],
    };
  }
}
