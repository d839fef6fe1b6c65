import { EventName } from 'nestjs-events';

/** Payload of `order.created` and `order.paid`. */
export interface OrderPayload {
  readonly orderId: string;
  readonly customer: string;
  readonly total: number;
}

/** A class event: listeners receive the instance, queued listeners too (rehydrated). */
@EventName('order.shipped')
export class OrderShipped {
  constructor(
    readonly orderId: string,
    readonly carrier: string,
  ) {}

  get trackingUrl(): string {
    return `https://track.example/${this.carrier}/${this.orderId}`;
  }
}
