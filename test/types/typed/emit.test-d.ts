import { expectTypeOf } from 'vitest';
import type { Observable } from 'rxjs';
import {
  EventBus,
  EventsClient,
  type EventEnvelope,
  type EnvelopeFor,
  type EventPayload,
  type MappedEventName,
  type NamesMatching,
  type PatternMatches,
} from 'nestjs-events';
import { OrderShipped, type UserSaved } from './events.js';

declare const bus: EventBus;
declare const client: EventsClient;

// emit: names and payloads
void bus.emit('order.created', { id: 'o1', total: 10 });
// @ts-expect-error a misspelt name
void bus.emit('order.craeted', { id: 'o1', total: 10 });
// @ts-expect-error a misspelt payload key
void bus.emit('order.created', { idd: 'o1', total: 10 });
// @ts-expect-error a payload of the wrong type
void bus.emit('order.created', { id: 1, total: 10 });
// @ts-expect-error the payload is required
void bus.emit('order.created');
// @ts-expect-error an extra key (excess property check)
void bus.emit('order.created', { id: 'o1', total: 1, extra: true });
void bus.emit('audit.tick');
void bus.emit('order.line.removed', { orderId: 'o', sku: 's' });
void bus.emit('order.created', { id: 'o1', total: 10 }, { delay: 10, metadata: { a: 'b' } });
// @ts-expect-error options are checked too
void bus.emit('order.created', { id: 'o1', total: 10 }, { delai: 10 });
// @ts-expect-error a wildcard is no event name
void bus.emit('order.*', { id: 'o1', total: 10 });
expectTypeOf(bus.emit('order.created', { id: 'o1', total: 1 })).resolves.toEqualTypeOf<
  EventEnvelope<{ id: string; total: number }, 'order.created'>
>();

// emit: class events
void bus.emit(new OrderShipped('o1', 'https://t'));
void bus.emit(new OrderShipped('o1', 'https://t'), { delay: 5 });
// @ts-expect-error a class whose instances are not in the map
void bus.emit(new Date());
expectTypeOf(bus.emit(new OrderShipped('o', 'u'))).resolves.toEqualTypeOf<
  EventEnvelope<OrderShipped>
>();

// emitAsync and until
void bus.emitAsync('user.registered', { email: 'a@b' });
// @ts-expect-error emitAsync checks the payload
void bus.emitAsync('user.registered', { mail: 'a@b' });
// @ts-expect-error emitAsync checks the name
void bus.emitAsync('user.registred', { email: 'a@b' });
expectTypeOf(bus.emitAsync<number>('user.registered', { email: 'a' })).resolves.toEqualTypeOf<
  number[]
>();
void bus.until('order.created', { id: 'o', total: 1 });
// @ts-expect-error until checks the payload
void bus.until('order.created', { id: 'o' });
// @ts-expect-error until checks the name
void bus.until('nope', {});
expectTypeOf(bus.until<string>('order.created', { id: 'o', total: 1 })).resolves.toEqualTypeOf<
  string | undefined
>();
void bus.emitAsync(new OrderShipped('o', 'u'));
void bus.until(new OrderShipped('o', 'u'));

// around
const saved = bus.around('user.save', { id: 'u1', email: 'a@b' }, () => 42);
expectTypeOf(saved).resolves.toBeNumber();
// @ts-expect-error around checks the payload
void bus.around('user.save', { id: 'u1' }, () => 1);
// @ts-expect-error around checks the name
void bus.around('user.sav', { id: 'u1', email: '' }, () => 1);
void bus.around('user.save', {} as UserSaved, async () => 'x');

// stream
expectTypeOf(bus.stream('order.created')).toEqualTypeOf<
  Observable<EventEnvelope<{ id: string; total: number }, 'order.created'>>
>();
bus.stream('order.*').subscribe((e) => {
  expectTypeOf(e.name).toEqualTypeOf<'order.created' | 'order.shipped'>();
  if (e.name === 'order.shipped') expectTypeOf(e.data.trackingUrl).toBeString();
  else expectTypeOf(e.data.total).toBeNumber();
});
bus.stream('order.**').subscribe((e) => {
  expectTypeOf(e.name).toEqualTypeOf<
    'order.created' | 'order.shipped' | 'order.line.added' | 'order.line.removed'
  >();
});
bus.stream('*.line.*').subscribe((e) => {
  expectTypeOf(e.data.sku).toBeString();
});
bus.stream().subscribe((e) => {
  const name: MappedEventName = e.name;
  expectTypeOf(e.data).not.toBeUnknown();
  return name;
});
// @ts-expect-error an unknown exact name
bus.stream('order.craeted');
bus.stream('nothing.*').subscribe((e) => {
  expectTypeOf(e).toBeNever();
});

// on
bus.on('user.*', (e) => {
  expectTypeOf(e.name).toEqualTypeOf<'user.registered' | 'user.save'>();
});
// @ts-expect-error a listener expecting another payload
bus.on('user.registered', (e: EventEnvelope<{ id: number }>) => e);
// @ts-expect-error on checks exact names
bus.on('user.registred', () => undefined);

// EventsClient.emit
client.emit('order.created', { id: 'o', total: 1 });
// @ts-expect-error the client checks the name
client.emit('order.craeted', { id: 'o', total: 1 });
// @ts-expect-error the client checks the payload
client.emit('order.created', { id: 'o' });
expectTypeOf(client.emit('user.registered', { email: 'x' })).toEqualTypeOf<
  Observable<EventEnvelope<{ email: string }, 'user.registered'>>
>();

// pattern matching at the type level
expectTypeOf<PatternMatches<'a.*', 'a.b'>>().toEqualTypeOf<true>();
expectTypeOf<PatternMatches<'a.*', 'a.b.c'>>().toEqualTypeOf<false>();
expectTypeOf<PatternMatches<'a.**', 'a'>>().toEqualTypeOf<true>();
expectTypeOf<PatternMatches<'a.**', 'a.b.c'>>().toEqualTypeOf<true>();
expectTypeOf<PatternMatches<'**.c', 'c'>>().toEqualTypeOf<true>();
expectTypeOf<PatternMatches<'**.c', 'a.b.c'>>().toEqualTypeOf<true>();
expectTypeOf<PatternMatches<'a.**.d', 'a.b.c.d'>>().toEqualTypeOf<true>();
expectTypeOf<PatternMatches<'a.**.d', 'a.b.c'>>().toEqualTypeOf<false>();
expectTypeOf<PatternMatches<'*', 'a.b'>>().toEqualTypeOf<false>();
expectTypeOf<PatternMatches<'**', 'a.b'>>().toEqualTypeOf<true>();
expectTypeOf<NamesMatching<'invoice.**.fee'>>().toEqualTypeOf<'invoice.paid.late.fee'>();
expectTypeOf<NamesMatching<'*.*.*.*'>>().toEqualTypeOf<'invoice.paid.late.fee'>();
expectTypeOf<NamesMatching<'user.save'>>().toEqualTypeOf<'user.save'>();
expectTypeOf<EventPayload<'user.save'>>().toEqualTypeOf<UserSaved>();
expectTypeOf<EnvelopeFor<'user.registered'>['data']>().toEqualTypeOf<{ email: string }>();

// emitMany: each item checked as emit checks it
void bus.emitMany([
  { name: 'order.created', data: { id: 'o1', total: 10 } },
  { name: 'audit.tick' },
  { name: 'order.created', data: { id: 'o2', total: 1 }, options: { delay: 10 } },
  { event: new OrderShipped('o1', 'https://t') },
]);
// @ts-expect-error a misspelt name
void bus.emitMany([{ name: 'order.craeted', data: { id: 'o1', total: 10 } }]);
// @ts-expect-error a payload of the wrong type
void bus.emitMany([{ name: 'order.created', data: { id: 1, total: 10 } }]);
// @ts-expect-error the payload is required
void bus.emitMany([{ name: 'order.created' }]);
// @ts-expect-error options are checked too
void bus.emitMany([{ name: 'audit.tick', options: { delai: 10 } }]);
expectTypeOf(bus.emitMany([])).resolves.toEqualTypeOf<EventEnvelope[]>();
