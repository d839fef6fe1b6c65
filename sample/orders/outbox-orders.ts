import { Injectable } from '@nestjs/common';
import { EventOutbox } from 'nestjs-events';
import { OrdersService } from './orders.service.js';
import type { OrderPayload } from './order.events.js';

/**
 * Places an order through the transactional outbox (only when DATABASE_URL is set): the order row
 * and its `order.created` event commit together, and listeners hear of it only after commit.
 */
@Injectable()
export class OutboxOrders {
  constructor(
    private readonly outbox: EventOutbox,
    private readonly orders: OrdersService,
  ) {}

  async place(order: OrderPayload): Promise<void> {
    await this.outbox.transaction(async (client) => {
      await client.query(
        'CREATE TABLE IF NOT EXISTS sample_orders (id text PRIMARY KEY, customer text, total numeric)',
      );
      await client.query(
        'INSERT INTO sample_orders (id, customer, total) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
        [order.orderId, order.customer, order.total],
      );
      // The same emit as without the outbox: inside the transaction, it becomes an outbox row.
      await this.orders.placeOrder(order);
    });
  }
}
