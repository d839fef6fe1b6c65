// The event map of the typed type tests (compiled alone by test/types/type-tests.spec.ts).

/** A class event. */
export class OrderShipped {
  static readonly eventName = 'order.shipped';
  constructor(
    readonly id: string,
    readonly trackingUrl: string,
  ) {}
}

/** A class event whose name is not a literal (declared through a wider type). */
export class LooseEvent {
  static readonly eventName: string = 'loose.event';
  constructor(readonly value: number) {}
}

export interface UserSaved {
  id: string;
  email: string;
}

declare module 'nestjs-events' {
  interface EventMap {
    'order.created': { id: string; total: number };
    'order.shipped': OrderShipped;
    'order.line.added': { orderId: string; sku: string };
    'order.line.removed': { orderId: string; sku: string; reason?: string };
    'user.registered': { email: string };
    'user.save': UserSaved;
    'audit.tick': undefined;
    'invoice.paid.late.fee': { amount: number };
  }
}
