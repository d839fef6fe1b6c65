import { expectTypeOf } from 'vitest';
import { EventFacade, type EventEnvelope } from 'nestjs-events';
import { OrderShipped } from './events.js';

EventFacade.fake(['order.created', 'user.*', OrderShipped]);
// @ts-expect-error fake checks the names
EventFacade.fake(['order.craeted']);

EventFacade.assertDispatched('order.created', (e) => e.data.total > 1000);
EventFacade.assertDispatched('order.created');
// @ts-expect-error assertDispatched checks the name
EventFacade.assertDispatched('order.craeted');
// @ts-expect-error the predicate sees the mapped payload
EventFacade.assertDispatched('order.created', (e) => e.data.totl > 1);
EventFacade.assertDispatched(
  'order.*',
  (e) => e.name === 'order.shipped' && e.data.trackingUrl !== '',
);
EventFacade.assertDispatched(OrderShipped, (e) => e.data.trackingUrl !== '');
EventFacade.assertNotDispatched('user.registered', (e) => e.data.email.endsWith('@x'));
// @ts-expect-error assertNotDispatched checks the name
EventFacade.assertNotDispatched('user.registred');
EventFacade.assertDispatchedTimes('order.created', 1);
// @ts-expect-error assertDispatchedTimes checks the name
EventFacade.assertDispatchedTimes('order.craeted', 1);

expectTypeOf(EventFacade.dispatched('user.registered')).toEqualTypeOf<
  EventEnvelope<{ email: string }, 'user.registered'>[]
>();
expectTypeOf(EventFacade.dispatched(OrderShipped)).toEqualTypeOf<EventEnvelope<OrderShipped>[]>();
expectTypeOf(EventFacade.dispatched('order.line.*')[0].data.sku).toBeString();
// @ts-expect-error dispatched checks the name
EventFacade.dispatched('order.craeted');
