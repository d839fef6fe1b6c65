import { createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { NOTIFICATIONS_OPTIONS } from './notifications.constants.js';
import type { ResolvedNotificationsOptions } from './notifications.options.js';
import type { Notification, NotificationSender } from './notification.js';

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body>` keyed with the webhook secret. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-signature';

/** `sha256=<hex>`: what a receiver recomputes over the raw body to check a webhook. */
export function signWebhook(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * The built-in `webhook` channel: POSTs `{ id, template, data }` as JSON to the notification's
 * `to` (an http(s) URL), signed. A non-2xx answer or a network error fails the attempt (retried).
 */
@Injectable()
export class WebhookChannel implements NotificationSender {
  constructor(
    @Inject(NOTIFICATIONS_OPTIONS) private readonly options: ResolvedNotificationsOptions,
  ) {}

  async send(notification: Notification): Promise<void> {
    const webhook = this.options.webhook;
    if (webhook === undefined) throw new UnrecoverableError('the webhook channel has no secret');
    let url: URL;
    try {
      url = new URL(notification.to);
    } catch {
      throw new UnrecoverableError(`webhook: "to" is not a URL: ${notification.to}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new UnrecoverableError(`webhook: "to" is not an http(s) URL: ${notification.to}`);
    }
    const body = JSON.stringify({
      id: notification.id,
      template: notification.template,
      data: notification.data,
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(webhook.secret, body),
        'x-notification-id': notification.id,
      },
      body,
      signal: AbortSignal.timeout(webhook.timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) {
      throw new Error(`webhook ${url.origin}${url.pathname} answered ${response.status}`);
    }
  }
}
