// No EventMap augmentation: names are strings and payloads unknown, as before typed events.
import { expectTypeOf } from 'vitest';
import type { Observable } from 'rxjs';
import { Ctx, EventPattern } from '@nestjs/microservices';
import {
  EventBus,
  EventFacade,
  EventReplayer,
  EventStore,
  EventsClient,
  Idempotent,
  OnEvent,
  ShouldQueue,
  Throttle,
  WithoutOverlapping,
  type EventEnvelope,
  type EventPatternTypes,
  type EventsRpcContext,
  type IsTypedEvents,
  type SelectedEnvelope,
  type StoredEvent,
} from 'nestjs-events';

declare const bus: EventBus;
declare const client: EventsClient;

expectTypeOf<IsTypedEvents>().toEqualTypeOf<false>();
void bus.emit('anything.at.all', { whatever: 1 });
void bus.emit('no.payload');
void bus.emitMany([{ name: 'anything.at.all', data: { whatever: 1 } }, { name: 'no.payload' }]);
// @ts-expect-error an item is a name and data, or an event instance
void bus.emitMany([{ data: 1 }]);
expectTypeOf(bus.emit('x', { id: 1 })).resolves.toEqualTypeOf<EventEnvelope<{ id: number }>>();
class Named {
  static readonly eventName = 'named';
}
void bus.emit(new Named());
expectTypeOf(bus.emitAsync<string>('x', 1)).resolves.toEqualTypeOf<string[]>();
expectTypeOf(bus.until<number>('x')).resolves.toEqualTypeOf<number | undefined>();
expectTypeOf(bus.stream('a.*')).toEqualTypeOf<Observable<EventEnvelope>>();
expectTypeOf(bus.stream<{ id: string }>('a.*')).toEqualTypeOf<
  Observable<EventEnvelope<{ id: string }>>
>();
bus.stream('a.*').subscribe((e) => expectTypeOf(e.data).toBeUnknown());
bus.on<{ id: string }>('a.b', (e) => expectTypeOf(e.data.id).toBeString());
void bus.around('user.save', { id: 1 }, () => 'r');
client.emit<EventEnvelope>('x', { any: 'thing' });
EventFacade.assertDispatched<{ id: string }>('x', (e) => e.data.id === 'a');
EventFacade.assertDispatched('x', (e) => e.data.id === 'a');
expectTypeOf(EventFacade.dispatched<{ n: number }>('x')[0].data.n).toBeNumber();
// @ts-expect-error the envelope data is unknown without a map or a type argument
bus.stream('a.*').subscribe((e) => e.data.id);

// Middleware keys: the untyped envelope, with or without a type argument.
expectTypeOf<SelectedEnvelope<never>>().toEqualTypeOf<EventEnvelope>();
expectTypeOf<SelectedEnvelope<'a.*'>>().toEqualTypeOf<EventEnvelope>();
Idempotent({ key: (ctx) => ctx.event.id, ttlMs: 10 });
Idempotent<'a.b'>({ key: (ctx) => String(ctx.event.data), ttlMs: 10 });
// @ts-expect-error the data is unknown without a map
Idempotent({ key: (ctx) => ctx.event.data.id, ttlMs: 10 });
WithoutOverlapping((ctx) => ctx.event.name, { leaseMs: 10 });
Throttle(1, 10, (ctx) => ctx.listener.id);
expectTypeOf<EventPatternTypes<'a.*'>>().toEqualTypeOf<{ 'a.*': unknown }>();

// The event store and replay: any name, payloads unknown or given as type arguments.
declare const store: EventStore;
declare const replayer: EventReplayer;
void store.append('s-1', [{ name: 'any.name', data: { x: 1 } }, { name: 'other' }]);
expectTypeOf(store.readAll({ pattern: 'a.*' })).toEqualTypeOf<AsyncIterableIterator<StoredEvent>>();
expectTypeOf(store.readAll<{ id: string }>()).toEqualTypeOf<
  AsyncIterableIterator<StoredEvent<{ id: string }>>
>();
expectTypeOf(store.readStream<number>('s-1', { limit: 1 })).toEqualTypeOf<
  AsyncIterableIterator<StoredEvent<number>>
>();
store.subscribe<{ id: string }>({ pattern: ['a.*', 'b'] }, (e) => e.data.id);
store.subscribe({ pattern: 'a.*' }, (e) => expectTypeOf(e.data).toBeUnknown());
void replayer.replay({ to: 'X.y', pattern: 'whatever.**' });

export class Untyped {
  @OnEvent('q.a')
  @ShouldQueue({ onFailed: (e) => expectTypeOf(e).toEqualTypeOf<EventEnvelope>() })
  queued(e: string) {
    return e;
  }

  @OnEvent('q.b')
  @ShouldQueue({ queue: 'x', onFailed: 'failed' })
  queuedByName(e: EventEnvelope<{ id: string }>) {
    return e;
  }

  failed() {}

  @OnEvent('q.c')
  @ShouldQueue({
    onFailed(e) {
      // Untyped too: the method's envelope, and the provider as `this`.
      expectTypeOf(e.data).toEqualTypeOf<{ id: string }>();
      expectTypeOf(this).toEqualTypeOf<Untyped>();
    },
  })
  inferredHook(e: EventEnvelope<{ id: string }>) {
    return e;
  }

  @EventPattern('p.a')
  pattern(@Ctx() ctx: EventsRpcContext) {
    expectTypeOf(ctx.getEvent()).toEqualTypeOf<EventEnvelope>();
    expectTypeOf(ctx.getEvent<{ id: string }>().data.id).toBeString();
  }

  @OnEvent('whatever.name')
  any(e: EventEnvelope<{ id: string }>) {
    return e;
  }

  @OnEvent<{ total: number }>('order.created', { filter: (e) => e.data.total > 1 })
  withType() {}

  @OnEvent(['a.*', 'b.**'])
  list(e: string) {
    return e;
  }
}
