import * as v from 'valibot';
import { z } from 'zod';
import { expectTypeOf } from 'vitest';
import {
  EventBus,
  EventsClient,
  EventsModule,
  OnEvent,
  type EventEnvelope,
  type EmitPayload,
  type EventInputMapOf,
  type EventMapOf,
  type EventsRpcContext,
  type SchemaOutput,
} from 'nestjs-events';

// Map entries derived from schemas: the type and the runtime check cannot drift.
export const schemas = {
  'signup.done': z.object({ email: z.email(), count: z.coerce.number() }),
  'payment.done': v.object({ amount: v.number(), currency: v.string() }),
  // Transforms that change the type: emitted as strings, listened to as a Date and a number.
  'shift.logged': z.object({
    at: z.iso.datetime().transform((s) => new Date(s)),
    hours: z.string().transform(Number),
  }),
  'refund.issued': v.object({ cents: v.pipe(v.string(), v.transform(Number)) }),
};

declare module 'nestjs-events' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface EventMap extends EventMapOf<typeof schemas> {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface EventInputMap extends EventInputMapOf<typeof schemas> {}
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
// Emits take the schema's input, listeners get its output.
void bus.emit('shift.logged', { at: '2026-03-01T10:00:00Z', hours: '8' });
// @ts-expect-error the emit takes the input (a string), not the output (a Date)
void bus.emit('shift.logged', { at: new Date(), hours: '8' });
void bus.emitAsync('refund.issued', { cents: '250' });
// @ts-expect-error valibot's input too
void bus.until('refund.issued', { cents: 250 });
expectTypeOf<EmitPayload<'shift.logged'>>().toEqualTypeOf<{ at: string; hours: string }>();
expectTypeOf<EmitPayload<'payment.done'>>().toEqualTypeOf<{ amount: number; currency: string }>();
bus.stream('shift.logged').subscribe((e) => expectTypeOf(e.data.at).toEqualTypeOf<Date>());
expectTypeOf(bus.emit('shift.logged', { at: '', hours: '1' })).resolves.toEqualTypeOf<
  EventEnvelope<{ at: Date; hours: number }, 'shift.logged'>
>();
declare const client: EventsClient;
client.emit('refund.issued', { cents: '1' });
// @ts-expect-error EventsClient.emit takes the input too
client.emit('refund.issued', { cents: 1 });
declare const ctx: EventsRpcContext;
expectTypeOf(ctx.getEvent<'refund.issued'>().data.cents).toBeNumber();
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
