import { Injectable, Logger } from '@nestjs/common';
import {
  NotificationChannel,
  OnEvent,
  Notifier,
  type EventEnvelope,
  type Notification,
  type NotificationSender,
} from 'nestjs-events';
import type { Signup } from './shop.events.js';

/** Each channel of the sample logs what a real one would send. */
abstract class LoggingChannel implements NotificationSender {
  readonly sent: Notification[] = [];
  protected abstract readonly logger: Logger;
  send(notification: Notification): void {
    this.sent.push(notification);
    this.logger.log(`${notification.template} to ${notification.to}`);
  }
}

@NotificationChannel('email', { tries: 5, backoff: [1000, 10_000] })
@Injectable()
export class EmailChannel extends LoggingChannel {
  protected readonly logger = new Logger('EmailChannel');
}

@NotificationChannel('push', { tries: 3 })
@Injectable()
export class PushChannel extends LoggingChannel {
  protected readonly logger = new Logger('PushChannel');
}

@NotificationChannel('sms')
@Injectable()
export class SmsChannel extends LoggingChannel {
  protected readonly logger = new Logger('SmsChannel');
}

@Injectable()
export class SignupListeners {
  constructor(private readonly notifier: Notifier) {}

  /** A welcome email for every signup: one queued job on the `email` channel. */
  @OnEvent('user.signup')
  async welcome(event: EventEnvelope<Signup>): Promise<void> {
    await this.notifier.notify({
      channels: ['email'],
      template: 'welcome',
      to: event.data.email,
      data: { name: event.data.name },
    });
  }
}
