import { Injectable } from '@nestjs/common';
import { OnEvent, type EventEnvelope } from 'nestjs-events';
import { ActivityLog } from './activity.log.js';
import { OrderShipped, type OrderPayload } from './order.events.js';

/** In-process listeners: called during `emit`, by priority. */
@Injectable()
export class OrderListeners {
  constructor(private readonly log: ActivityLog) {}

  @OnEvent('order.*', { priority: 10 })
  audit(event: EventEnvelope) {
    this.log.add(
      `[audit] ${event.name} (tenant ${event.metadata.tenantId ?? '-'}, correlation ${event.metadata.correlationId})`,
    );
  }

  @OnEvent('order.created')
  reserveStock(event: EventEnvelope<OrderPayload>) {
    this.log.add(`[stock] reserved items of ${event.data.orderId}`);
  }

  @OnEvent('order.paid')
  receipt(event: EventEnvelope<OrderPayload>) {
    return `receipt for ${event.data.orderId}: ${event.data.total.toFixed(2)} EUR`;
  }

  @OnEvent(OrderShipped)
  shipped(event: EventEnvelope<OrderShipped>) {
    this.log.add(`[shipping] ${event.data.orderId} shipped, track at ${event.data.trackingUrl}`);
  }

  @OnEvent('discount.requested', {
    filter: (e) => e.data.customer === 'ada', // typed by the event map (sample/event-map.ts)
  })
  loyalDiscount() {
    return 10;
  }
}
