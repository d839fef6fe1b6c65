import { SetMetadata } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import { assertBackoff, type BackoffOption } from '../queue/backoff.js';

/** Metadata key: the channel a `@NotificationChannel` class sends on. */
export const NOTIFICATION_CHANNEL_METADATA = 'nestjs-events:notification-channel';

/** Options of one notification channel: how its jobs are retried. */
export interface NotificationChannelOptions {
  /** Attempts in all before the job is dead-lettered. @default the queue defaults (`defaults.tries`) */
  tries?: number;
  /** Delays between attempts. @default the queue defaults (`defaults.backoff`) */
  backoff?: BackoffOption;
}

export interface NotificationChannelMetadata extends NotificationChannelOptions {
  readonly name: string;
}

const CHANNEL = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Makes a provider with `send(notification)` the channel `name` of `Notifier.notify`. List the
 * class in `EventsNotificationsModule.forRoot({ channels })`. Each channel's jobs are retried and
 * dead-lettered on their own.
 *
 * @example
 * @NotificationChannel('email', { tries: 5, backoff: [1000, 10000] })
 * class EmailChannel { send(n: Notification) { return mailer.send(n.to, n.template, n.data); } }
 */
export function NotificationChannel(
  name: string,
  options: NotificationChannelOptions = {},
): ClassDecorator {
  if (typeof name !== 'string' || !CHANNEL.test(name)) {
    throw new InvalidOptionError('@NotificationChannel name', name, '1 to 64 of [A-Za-z0-9_-]');
  }
  if (options.tries !== undefined)
    assertInteger(`@NotificationChannel('${name}') tries`, options.tries, 1, 1000);
  if (options.backoff !== undefined)
    assertBackoff(`@NotificationChannel('${name}') backoff`, options.backoff);
  return SetMetadata(NOTIFICATION_CHANNEL_METADATA, { ...options, name });
}

/** The channel metadata of a class, or undefined. */
export function notificationChannelOf(target: Function): NotificationChannelMetadata | undefined {
  return Reflect.getMetadata(NOTIFICATION_CHANNEL_METADATA, target) as
    NotificationChannelMetadata | undefined;
}
