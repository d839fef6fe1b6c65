import { describeValue, EventsError } from './events.error.js';

/** `Notifier.notify` named a channel no `@NotificationChannel` provider handles: nothing was stored. */
export class UnknownNotificationChannelError extends EventsError {
  constructor(
    readonly channel: unknown,
    readonly known: readonly string[],
  ) {
    super(
      'EVENTS_UNKNOWN_NOTIFICATION_CHANNEL',
      `Unknown notification channel ${describeValue(channel)}: expected one of ` +
        `${known.map((k) => `"${k}"`).join(', ') || '(none registered)'}. Nothing was stored.`,
    );
  }
}
