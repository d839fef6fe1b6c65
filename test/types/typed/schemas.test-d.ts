import * as v from 'valibot';
import { z } from 'zod';
import { expectTypeOf } from 'vitest';
import {
  EventBus,
  EventsModule,
  OnEvent,
  type EventEnvelope,
  type EventMapOf,
  type SchemaOutput,
} from 'nestjs-events';

// Map entries derived from schemas: the type and the runtime check cannot drift.
export const schemas = {
  'signup.done': z.object({ email: z.email(), count: z.coerce.number() }),
  'payment.done': v.object({ amount: v.number(), currency: v.string() }),
};

declare module 'nestjs-events' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface EventMap extends EventMapOf<typeof schemas> {}
}

declare const bus: EventBus;

EventsModule.forRoot({ schemas });
expectTypeOf<SchemaOutput<(typeof schemas)['signup.done']>>().toEqualTypeOf<{
  email: string;
  count: number;
}>();
void bus.emit('signup.done', { email: 'a@b.c', count: 1 });
// @ts-expect-error a schema-derived entry checks the payload
void bus.emit('signup.done', { email: 'a@b.c' });
void bus.emit('payment.done', { amount: 1, currency: 'EUR' });
// @ts-expect-error a valibot-derived entry checks the payload
void bus.emit('payment.done', { amount: '1', currency: 'EUR' });
bus.stream('*.done').subscribe((e) => {
  if (e.name === 'payment.done') expectTypeOf(e.data.amount).toBeNumber();
  else expectTypeOf(e.data.email).toBeString();
});
// @ts-expect-error forRoot refuses something that is not a Standard Schema
EventsModule.forRoot({ schemas: { 'x.y': { parse: () => 1 } } });

export class SchemaListeners {
  @OnEvent('payment.done')
  paid(e: EventEnvelope<{ amount: number; currency: string }>) {
    return e;
  }

  // @ts-expect-error the listener must accept the schema's output
  @OnEvent('signup.done')
  wrong(e: EventEnvelope<{ email: number }>) {
    return e;
  }
}
