import { Injectable } from '@nestjs/common';
import { EventBus, EventContext } from 'nestjs-events';
import { OrderShipped, type OrderPayload } from './order.events.js';

/** The application code: it only emits; listeners decide what happens. */
@Injectable()
export class OrdersService {
  constructor(private readonly bus: EventBus) {}

  /** Emits `order.created` in a context that carries the tenant to every listener and job. */
  async placeOrder(order: OrderPayload, tenantId = 'acme'): Promise<void> {
    await EventContext.run({ tenantId }, () => this.bus.emit('order.created', order));
  }

  async pay(order: OrderPayload): Promise<string[]> {
    // emitAsync waits for in-process listeners and returns what they returned.
    const results = await this.bus.emitAsync<string | undefined>('order.paid', order);
    return results.filter((r): r is string => r !== undefined);
  }

  async ship(orderId: string): Promise<void> {
    await this.bus.emit(new OrderShipped(orderId, 'ups'));
  }

  /** Asks listeners for a discount; the first that answers wins. */
  async discountFor(customer: string): Promise<number> {
    return (await this.bus.until<number>('discount.requested', { customer })) ?? 0;
  }
}
