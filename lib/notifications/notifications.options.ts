import type { ModuleMetadata, Type } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger, assertName } from '../option-assertions.js';
import type { NotificationChannelOptions } from './notification-channel.decorator.js';
import type { NotificationSender } from './notification.js';

/** The built-in `webhook` channel: on when `secret` is given. */
export interface WebhookChannelOptions extends NotificationChannelOptions {
  /** The HMAC-SHA256 key of the `X-Signature` header. */
  secret: string;
  /** How long one POST may take (ms). @default 10000 */
  timeout?: number;
}

/** Options of `EventsNotificationsModule.forRoot`. */
export interface EventsNotificationsOptions {
  /** Your `@NotificationChannel` provider classes. @default [] */
  channels?: Type<NotificationSender>[];
  /** Modules your channels' dependencies come from. @default [] */
  imports?: ModuleMetadata['imports'];
  /** The queue of notification jobs. @default 'notifications' */
  queue?: string;
  /** Turns on the built-in `webhook` channel. @default undefined (off) */
  webhook?: WebhookChannelOptions;
  /** The built-in `broadcast` channel sends to `private-<broadcastChannel>.<to>`. @default 'notifications' */
  broadcastChannel?: string;
}

export interface ResolvedNotificationsOptions {
  readonly channels: readonly Type<NotificationSender>[];
  readonly imports: NonNullable<ModuleMetadata['imports']>;
  readonly queue: string;
  readonly webhook:
    (Omit<WebhookChannelOptions, 'timeout'> & { readonly timeoutMs: number }) | undefined;
  readonly broadcastChannel: string;
}

/** Defaults and checks of `forRoot`'s options (pure). */
export function resolveNotificationsOptions(
  options: EventsNotificationsOptions = {},
): ResolvedNotificationsOptions {
  const {
    channels = [],
    imports = [],
    queue = 'notifications',
    webhook,
    broadcastChannel = 'notifications',
  } = options;
  if (!Array.isArray(channels) || !channels.every((c) => typeof c === 'function')) {
    throw new InvalidOptionError(
      'notifications.channels',
      channels,
      'an array of provider classes',
    );
  }
  assertName('notifications.queue', queue);
  if (!/^[A-Za-z0-9._=-]{1,100}$/.test(String(broadcastChannel))) {
    throw new InvalidOptionError(
      'notifications.broadcastChannel',
      broadcastChannel,
      'a channel name of [A-Za-z0-9._=-]',
    );
  }
  let resolvedWebhook: ResolvedNotificationsOptions['webhook'];
  if (webhook !== undefined) {
    if (typeof webhook?.secret !== 'string' || webhook.secret.length < 16) {
      throw new InvalidOptionError(
        'notifications.webhook.secret',
        webhook?.secret,
        'a string of at least 16 characters',
      );
    }
    const { timeout = 10_000, ...rest } = webhook;
    assertInteger('notifications.webhook.timeout', timeout, 1);
    resolvedWebhook = { ...rest, timeoutMs: timeout };
  }
  return { channels, imports, queue, webhook: resolvedWebhook, broadcastChannel };
}
