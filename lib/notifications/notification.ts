import { SYSTEM_EVENT_PREFIX } from '../event/system-events.js';

/** What `Notifier.notify` is given. */
export interface NotificationRequest<T = unknown> {
  /** Channel names (`email`, `push`, `broadcast`, `webhook`, ...): one queued job each. */
  readonly channels: readonly string[];
  /** Which message to send (your template's name). */
  readonly template: string;
  /** The recipient: an address, a user id, a URL for `webhook`. */
  readonly to: string;
  /** The template's values. @default {} */
  readonly data?: T;
}

/** What a channel's `send` receives: one channel's share of a `notify`. */
export interface Notification<T = unknown> {
  /** The id shared by every channel of one `notify` (dedupe on it). */
  readonly id: string;
  readonly channel: string;
  readonly template: string;
  readonly to: string;
  readonly data: T;
}

/** A provider decorated with `@NotificationChannel`: sends one notification, or throws (retried). */
export interface NotificationSender {
  send(notification: Notification): unknown;
}

/** The event one channel's job travels as. */
export function notificationEventName(channel: string): string {
  return `${SYSTEM_EVENT_PREFIX}notify.${channel}`;
}
