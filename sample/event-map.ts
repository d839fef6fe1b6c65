// The sample's events, declared once: every emit, listener, fake and store read of the sample is
// checked against them. Module augmentation is global to a compilation, so this file is compiled
// only with the sample (tsconfig.sample.json, sample/tsconfig.json), never with the library's
// tests, which keep their own maps (test/types/).
import type { AfterEventData, FailedEventData } from 'nestjs-events';
import type { OrderPayload, OrderShipped } from './orders/order.events.js';
import type { NewUser, SavedUser, UserRegistered } from './users/user.events.js';
import type { OrderPlaced, Signup } from './broadcast/shop.events.js';

declare module 'nestjs-events' {
  interface EventMap {
    'order.created': OrderPayload;
    'order.paid': OrderPayload;
    'order.shipped': OrderShipped;
    'discount.requested': { customer: string };
    'order.placed': { orderId: string; total: number; currency: string };
    'report.sales': { period: string };
    'user.registered': UserRegistered;
    'user.save': NewUser;
    // What `bus.around('user.save', ...)` emits, asserted by the sample's tests.
    'user.save.before': NewUser;
    'user.save.after': AfterEventData<NewUser, SavedUser>;
    'user.save.failed': FailedEventData<NewUser>;
    // The order fulfilment saga (orders/order-fulfilment.saga.ts) and its lifecycle event.
    'order.completed': { orderId: string };
    'order.failed': { orderId: string; reason: string };
    'saga.fulfilment.compensated': { sagaId: string; state: unknown; error?: string };
    'shop.order.placed': OrderPlaced;
    'user.signup': Signup;
    // Tenant fairness (tenants/tenant-mail.listeners.ts).
    'tenant.mail': { n: number };
  }
}
