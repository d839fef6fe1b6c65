import { expectTypeOf } from 'vitest';
import { EventReplayer, EventStore, type StoredEvent, type StoredEventFor } from 'nestjs-events';
import { OrderShipped, type UserSaved } from './events.js';

declare const store: EventStore;
declare const replayer: EventReplayer;

// append: names and payloads checked against the map
void store.append('order-1', [{ name: 'order.created', data: { id: 'o1', total: 3 } }]);
void store.append('order-1', { name: 'order.shipped', data: new OrderShipped('o1', 'u') });
void store.append('tick', [
  { name: 'audit.tick' },
  { name: 'order.created', data: { id: 'o', total: 1 } },
]);
void store.append(
  'order-1',
  [{ name: 'order.created', data: { id: 'o', total: 1 }, metadata: { a: 'b' } }],
  {
    expectedVersion: 0,
  },
);
// @ts-expect-error append checks the name
void store.append('order-1', [{ name: 'order.craeted', data: { id: 'o1', total: 3 } }]);
// @ts-expect-error append checks the payload
void store.append('order-1', [{ name: 'order.created', data: { id: 1, total: 3 } }]);
// @ts-expect-error the payload is required when its type does not allow undefined
void store.append('order-1', { name: 'order.created' });
// @ts-expect-error a wildcard is no event name
void store.append('order-1', { name: 'order.*', data: { id: 'o', total: 1 } });

// readAll by pattern: the union of the matching mapped events, discriminated by name
async function reads(): Promise<void> {
  for await (const e of store.readAll({ pattern: 'order.*' })) {
    expectTypeOf(e.name).toEqualTypeOf<'order.created' | 'order.shipped'>();
    expectTypeOf(e.position).toBeNumber();
    if (e.name === 'order.shipped') expectTypeOf(e.data).toEqualTypeOf<OrderShipped>();
    else expectTypeOf(e.data.total).toBeNumber();
  }
  for await (const e of store.readAll({ pattern: ['user.*', 'order.line.**'], limit: 5 })) {
    expectTypeOf(e.name).toEqualTypeOf<
      'user.registered' | 'user.save' | 'order.line.added' | 'order.line.removed'
    >();
  }
  for await (const e of store.readAll({ pattern: 'user.save' })) {
    expectTypeOf(e).toEqualTypeOf<StoredEvent<UserSaved, 'user.save'>>();
  }
  for await (const e of store.readAll()) {
    expectTypeOf(e).toEqualTypeOf<StoredEventFor>();
    expectTypeOf(e.streamId).toBeString();
  }
  // @ts-expect-error readAll checks the pattern's names
  store.readAll({ pattern: 'order.craeted' });
  for await (const e of store.readStream('order-1')) {
    expectTypeOf(e).toEqualTypeOf<StoredEventFor<'**'>>();
  }
  for await (const e of store.readStream<'order.created'>('order-1', { limit: 1 })) {
    expectTypeOf(e.data.total).toBeNumber();
  }
}
void reads;

store.subscribe({ pattern: 'invoice.**', fromPosition: 'end' }, (e) => {
  expectTypeOf(e).toEqualTypeOf<StoredEvent<{ amount: number }, 'invoice.paid.late.fee'>>();
});
// @ts-expect-error subscribe checks the pattern's names
store.subscribe({ pattern: 'invoice.payd' }, () => undefined);
// @ts-expect-error the handler sees the mapped payload
store.subscribe({ pattern: 'user.registered' }, (e) => e.data.mail);

// EventReplayer: the pattern is checked against the map
void replayer.replay({ to: OrderShipped, pattern: 'order.**' });
void replayer.replay({ to: 'Projection.onPlaced', pattern: ['order.created', 'user.*'] });
// @ts-expect-error replay checks the pattern's names
void replayer.replay({ to: OrderShipped, pattern: 'order.craeted' });
