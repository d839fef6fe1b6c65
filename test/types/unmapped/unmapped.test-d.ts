// A map plus `allowUnmappedNames`: mapped names are checked, other names pass as unknown.
import { expectTypeOf } from 'vitest';
import { EventBus, EventStore, Idempotent, OnEvent, type EventEnvelope } from 'nestjs-events';

declare module 'nestjs-events' {
  interface EventMap {
    'order.created': { id: string };
  }
  interface EventTypeOptions {
    allowUnmappedNames: true;
  }
}

declare const bus: EventBus;
declare const store: EventStore;

// The store takes names outside the map; reads of a mapped name stay typed.
void store.append('s', [{ name: 'legacy.event', data: 1 }]);
async function reads(): Promise<void> {
  for await (const e of store.readAll({ pattern: 'order.created' }))
    expectTypeOf(e.data.id).toBeString();
  for await (const e of store.readAll({ pattern: 'legacy.*' })) expectTypeOf(e.data).toBeUnknown();
}
void reads;
Idempotent<'order.created'>({ key: (ctx) => ctx.event.data.id, ttlMs: 1 });
Idempotent<'legacy.event'>({ key: (ctx) => String(ctx.event.data), ttlMs: 1 });

void bus.emit('order.created', { id: 'o' });
// @ts-expect-error mapped names keep their payload type
void bus.emit('order.created', { id: 1 });
void bus.emit('legacy.event', { anything: true });
void bus.emit('legacy.event');
// emitMany accepts unmapped names (a mapped name's payload is checked by emit only: an item's
// name is not a type parameter here).
void bus.emitMany([
  { name: 'legacy.event', data: { anything: true } },
  { name: 'order.created', data: { id: 'o' } },
]);
bus.stream('legacy.event').subscribe((e) => expectTypeOf(e.data).toBeUnknown());
bus.stream('order.created').subscribe((e) => expectTypeOf(e.data.id).toBeString());

export class Mixed {
  @OnEvent('legacy.event')
  legacy(e: EventEnvelope<{ whatever: string }>) {
    return e;
  }

  // @ts-expect-error mapped names still check the listener
  @OnEvent('order.created')
  wrong(e: EventEnvelope<{ id: number }>) {
    return e;
  }
}
