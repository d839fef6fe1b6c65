import { Injectable } from '@nestjs/common';
import {
  OnEvent,
  ShouldQueue,
  UnrecoverableError,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { ActivityLog } from './activity.log.js';
import { OrderShipped, type OrderPayload } from './order.events.js';

/** Queued listeners: stored as jobs on emit, run by the worker with retries and dead letters. */
@Injectable()
export class NotificationListeners {
  constructor(private readonly log: ActivityLog) {}

  /** Fails twice (a flaky mail server), then succeeds on the third attempt. */
  @OnEvent('order.created')
  @ShouldQueue({ queue: 'emails', tries: 3, backoff: [100, 200] })
  async sendConfirmation(event: EventEnvelope<OrderPayload>, context: ListenerContext) {
    if (context.attempt < 3) {
      this.log.add(
        `[email] attempt ${context.attempt} for ${event.data.orderId} failed: mail server busy`,
      );
      throw new Error('mail server busy');
    }
    this.log.add(
      `[email] confirmation sent to ${event.data.customer} for ${event.data.orderId} (attempt ${context.attempt}, tenant ${event.metadata.tenantId})`,
    );
  }

  /** Never succeeds: after its attempts the job goes to dead letters and the hook runs once. */
  @OnEvent('order.paid')
  @ShouldQueue({ queue: 'invoices', tries: 2, backoff: 100, onFailed: 'invoiceFailed' })
  async sendInvoice(event: EventEnvelope<OrderPayload>) {
    if (event.data.total > 1000)
      throw new UnrecoverableError(`total ${event.data.total} needs manual review`);
    throw new Error('invoice service down');
  }

  invoiceFailed(event: EventEnvelope<OrderPayload>, error: unknown) {
    this.log.add(`[invoice] gave up on ${event.data.orderId}: ${(error as Error).message}`);
  }

  @OnEvent(OrderShipped)
  @ShouldQueue({ queue: 'emails' })
  async shippingMail(event: EventEnvelope<OrderShipped>) {
    this.log.add(`[email] shipping notice for ${event.data.orderId} (${event.data.trackingUrl})`);
  }
}
