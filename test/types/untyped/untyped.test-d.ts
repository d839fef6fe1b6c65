// No EventMap augmentation: names are strings and payloads unknown, as before typed events.
import { expectTypeOf } from 'vitest';
import type { Observable } from 'rxjs';
import {
  EventBus,
  EventFacade,
  EventsClient,
  OnEvent,
  type EventEnvelope,
  type IsTypedEvents,
} from 'nestjs-events';

declare const bus: EventBus;
declare const client: EventsClient;

expectTypeOf<IsTypedEvents>().toEqualTypeOf<false>();
void bus.emit('anything.at.all', { whatever: 1 });
void bus.emit('no.payload');
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

export class Untyped {
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
