import { Inject, Injectable, type Type } from '@nestjs/common';
import { OnInternalEvent } from '../broadcasting/internal-events.js';
import { ShouldQueue } from '../decorators/should-queue.decorator.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { NotificationChannelMetadata } from './notification-channel.decorator.js';
import {
  notificationEventName,
  type Notification,
  type NotificationSender,
} from './notification.js';

/**
 * The queued listener of one channel: its own listener id and retry policy, so a failing channel
 * is retried or dead-lettered alone and never holds back the others.
 */
export function notificationJobs(
  sender: Type<NotificationSender>,
  channel: NotificationChannelMetadata,
  queue: string,
): Type {
  @Injectable()
  class NotificationJobs {
    constructor(@Inject(sender) private readonly channel: NotificationSender) {}

    @OnInternalEvent(notificationEventName(channel.name), { id: `notifications.${channel.name}` })
    @ShouldQueue({
      queue,
      ...(channel.tries !== undefined ? { tries: channel.tries } : {}),
      ...(channel.backoff !== undefined ? { backoff: channel.backoff } : {}),
    })
    async send(event: EventEnvelope<Notification>): Promise<void> {
      await this.channel.send(event.data);
    }
  }
  Object.defineProperty(NotificationJobs, 'name', { value: `NotificationJobs(${channel.name})` });
  return NotificationJobs;
}
