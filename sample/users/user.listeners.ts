import { Injectable, Logger } from '@nestjs/common';
import {
  After,
  Before,
  Failed,
  Idempotent,
  Logging,
  ShouldQueue,
  Throttle,
  UseEventMiddleware,
  type AfterEventData,
  type EventEnvelope,
  type FailedEventData,
} from 'nestjs-events';
import type { NewUser, SavedUser } from './user.events.js';

/** Lifecycle listeners of `bus.around('user.save', ...)`. */
@Injectable()
export class UserListeners {
  private readonly logger = new Logger('Users');

  /** Runs before the save; throwing cancels it. */
  @Before('user.save')
  refuseDisposableDomains(event: EventEnvelope<NewUser>) {
    if (event.data.email.endsWith('@mailinator.test')) {
      throw new Error(`disposable address ${event.data.email} refused`);
    }
  }

  /**
   * A queued after-listener with middleware: one log line per attempt, at most one welcome mail
   * per user for a day (even if the job is delivered twice), and at most 10 mails a second
   * across all workers.
   */
  @After<'user.save', SavedUser>('user.save')
  @ShouldQueue({ queue: 'welcome', tries: 3 })
  @UseEventMiddleware(
    Logging,
    Idempotent<'user.save.after'>({ key: (ctx) => ctx.event.data.result.id, ttlMs: 86_400_000 }),
    Throttle(10, 1000, 'mailer'),
  )
  async sendWelcome(event: EventEnvelope<AfterEventData<NewUser, SavedUser>>) {
    this.logger.log(`[email] welcome ${event.data.result.name} <${event.data.result.email}>`);
  }

  @Failed('user.save')
  saveFailed(event: EventEnvelope<FailedEventData<NewUser>>) {
    this.logger.warn(`saving ${event.data.data.email} failed: ${event.data.error.message}`);
  }
}
