import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Broadcaster } from '../broadcasting/broadcaster.js';
import { PrivateChannel } from '../broadcasting/channel.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { NOTIFICATIONS_OPTIONS } from './notifications.constants.js';
import type { ResolvedNotificationsOptions } from './notifications.options.js';
import type { Notification, NotificationSender } from './notification.js';

/**
 * The built-in `broadcast` channel: sends the notification, as its template's name, to the
 * recipient's private channel `private-<broadcastChannel>.<to>` (authorize it with
 * `@BroadcastChannel('notifications.{userId}')`). Needs `EventsBroadcastingModule`.
 */
@Injectable()
export class BroadcastNotificationChannel implements NotificationSender {
  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(NOTIFICATIONS_OPTIONS) private readonly options: ResolvedNotificationsOptions,
  ) {}

  async send(notification: Notification): Promise<void> {
    let broadcaster: Broadcaster;
    try {
      broadcaster = this.moduleRef.get(Broadcaster, { strict: false });
    } catch (error) {
      throw new UnrecoverableError(
        'the broadcast notification channel needs EventsBroadcastingModule.forRoot()',
        { cause: error },
      );
    }
    const channel = PrivateChannel(`${this.options.broadcastChannel}.${notification.to}`);
    await broadcaster.send({
      channels: [channel.name],
      event: notification.template,
      id: notification.id,
      data: notification.data,
    });
  }
}
