import { Controller, Logger, Module } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { EventsModule, type EventsRpcContext } from 'nestjs-events';
import { ActivityLog } from './orders/activity.log.js';
import { NotificationListeners } from './orders/notification.listeners.js';
import type { OrderPayload } from './orders/order.events.js';

/** `@EventPattern` handlers: run from durable streams, with the queue options in the extras. */
@Controller()
export class RefundPatterns {
  private readonly logger = new Logger(RefundPatterns.name);

  @EventPattern<string>('order.refunded', { queue: 'refunds', tries: 5, backoff: 1000 })
  refund(@Payload() order: OrderPayload, @Ctx() context: EventsRpcContext) {
    this.logger.log(
      `refunding ${order.orderId} (${order.total} EUR), attempt ${context.getAttempt()}, event ${context.getEvent().id}`,
    );
  }
}

/**
 * The worker process's module: the same listener classes as the producer's app, on the same
 * Redis and prefix. `worker: false` lets one module serve both: an app built from it only
 * produces, while the `EventsServer` of `worker.ts` starts the worker of its process.
 */
@Module({
  imports: [
    EventsModule.forRoot({
      redis: process.env.EVENTS_REDIS_URL ?? 'redis://127.0.0.1:6379',
      worker: false,
    }),
  ],
  controllers: [RefundPatterns],
  providers: [ActivityLog, NotificationListeners],
})
export class WorkerModule {}
