import { Channel, EventName, PrivateChannel, type ShouldBroadcast } from 'nestjs-events';

/**
 * Broadcast to everyone (`orders`) and to its customer (`private-customers.<customer>`), under the
 * browser-facing name `order.placed` (`broadcastAs`).
 */
@EventName('shop.order.placed')
export class OrderPlaced implements ShouldBroadcast {
  constructor(
    readonly orderId: string,
    readonly customer: string,
    readonly total: number,
  ) {}

  broadcastOn() {
    return [Channel('orders'), PrivateChannel(`customers.${this.customer}`)];
  }

  broadcastAs() {
    return 'order.placed';
  }

  broadcastWith() {
    return { orderId: this.orderId, customer: this.customer, total: this.total };
  }
}

/** Payload of `user.signup`. */
export interface Signup {
  readonly email: string;
  readonly name: string;
}
