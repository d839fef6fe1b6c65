import { Inject, Injectable } from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { internalEmits } from '../broadcasting/internal-events.js';
import { PrivateChannel } from '../broadcasting/channel.js';
import { createEventId } from '../event/event-id.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { UnknownNotificationChannelError } from '../errors/unknown-notification-channel.error.js';
import { NOTIFICATION_CHANNELS, NOTIFICATIONS_OPTIONS } from './notifications.constants.js';
import type { ResolvedNotificationsOptions } from './notifications.options.js';
import {
  notificationEventName,
  type Notification,
  type NotificationRequest,
} from './notification.js';

/** Sends notifications: one queued job per channel. */
@Injectable()
export class Notifier {
  constructor(
    private readonly bus: EventBus,
    @Inject(NOTIFICATION_CHANNELS) private readonly channels: readonly string[],
    @Inject(NOTIFICATIONS_OPTIONS) private readonly options: ResolvedNotificationsOptions,
  ) {}

  /**
   * Stores one queued job per channel (all in one batch) and resolves to the notification id
   * once they are stored. Each channel retries and dead-letters on its own.
   *
   * @throws UnknownNotificationChannelError, InvalidOptionError (rejects) before anything is stored;
   * with the `broadcast` channel, InvalidOptionError for a `to` that cannot form a channel name.
   * @example
   * await notifier.notify({ channels: ['email', 'push'], template: 'welcome', to: user.id, data: { name } });
   */
  async notify<T = unknown>(request: NotificationRequest<T>): Promise<string> {
    const { channels, template, to, data } = request ?? ({} as NotificationRequest<T>);
    if (!Array.isArray(channels) || channels.length === 0) {
      throw new InvalidOptionError(
        'notify channels',
        channels,
        'a non-empty array of channel names',
      );
    }
    for (const channel of channels) {
      if (!this.channels.includes(channel)) {
        throw new UnknownNotificationChannelError(channel, this.channels);
      }
    }
    if (typeof template !== 'string' || template.length === 0) {
      throw new InvalidOptionError('notify template', template, 'a non-empty string');
    }
    if (typeof to !== 'string' || to.length === 0) {
      throw new InvalidOptionError('notify to', to, 'a non-empty string');
    }
    if (channels.includes('broadcast')) this.assertBroadcastRecipient(to);
    const id = createEventId();
    await internalEmits(this.bus).emitMany(
      [...new Set(channels)].map((channel) => {
        const notification: Notification = { id, channel, template, to, data: data ?? {} };
        return { name: notificationEventName(channel), data: notification };
      }),
    );
    return id;
  }

  /** The `broadcast` channel sends to `private-<broadcastChannel>.<to>`: it must be a valid name. */
  private assertBroadcastRecipient(to: string): void {
    try {
      PrivateChannel(`${this.options.broadcastChannel}.${to}`);
    } catch {
      throw new InvalidOptionError(
        'notify to',
        to,
        'for the broadcast channel, a user id of [A-Za-z0-9._=-] that forms a channel name',
      );
    }
  }
}
