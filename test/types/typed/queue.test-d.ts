import { expectTypeOf } from 'vitest';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import {
  Idempotent,
  OnEvent,
  ShouldQueue,
  Throttle,
  UseEventMiddleware,
  WithoutOverlapping,
  type EventEnvelope,
  type EventPatternTypes,
  type EventsRpcContext,
  type EventPayload,
  type EnvelopeFor,
  type MiddlewareKeyContext,
  type SelectedEnvelope,
} from 'nestjs-events';
import { OrderShipped, type UserSaved } from './events.js';

type Created = EventEnvelope<{ id: string; total: number }, 'order.created'>;

// @ShouldQueue({ onFailed }): without a type argument, TypeScript infers the hook's event from
// the decorated method (and `this` from its class); with one, from the events it names.
export class QueuedListeners {
  readonly sent: string[] = [];

  @OnEvent('order.created')
  @ShouldQueue<'order.created'>({
    onFailed: (e, error) => {
      expectTypeOf(e).toEqualTypeOf<Created>();
      expectTypeOf(error).toBeUnknown();
    },
  })
  named(e: Created) {
    return e;
  }

  // @ShouldQueue({ group }): the group function gets the same envelope as onFailed.
  @OnEvent('order.created')
  @ShouldQueue<'order.created'>({
    group: (e) => {
      expectTypeOf(e).toEqualTypeOf<Created>();
      return e.data.id;
    },
    groupWeight: (tenant) => (tenant.startsWith('vip') ? 3 : 1),
  })
  grouped(e: Created) {
    return e;
  }

  @OnEvent('order.created')
  @ShouldQueue<'order.created'>({
    // @ts-expect-error onFailed sees the mapped payload
    onFailed: (e) => e.data.totl,
  })
  misspeltInHook(e: Created) {
    return e;
  }

  @OnEvent('order.*')
  @ShouldQueue<'order.*'>({
    onFailed: (e) => {
      if (e.name === 'order.shipped') expectTypeOf(e.data).toEqualTypeOf<OrderShipped>();
      else expectTypeOf(e.data.total).toBeNumber();
    },
  })
  wildcard(e: Created | EventEnvelope<OrderShipped, 'order.shipped'>) {
    return e;
  }

  @OnEvent(['order.created', OrderShipped])
  @ShouldQueue<['order.created', typeof OrderShipped]>({
    onFailed: (e) =>
      expectTypeOf(e.data).toEqualTypeOf<{ id: string; total: number } | OrderShipped>(),
  })
  list(e: Created | EventEnvelope<OrderShipped>) {
    return e;
  }

  // @ts-expect-error the type argument names events the method does not accept
  @ShouldQueue<'user.registered'>({ onFailed: (e) => e.data.email })
  @OnEvent('order.created')
  wrongSelector(e: Created) {
    return e;
  }

  // @ts-expect-error an unknown name as the type argument
  @ShouldQueue<'order.craeted'>({ queue: 'emails' })
  @OnEvent('order.created')
  misspeltSelector(e: Created) {
    return e;
  }

  @OnEvent('order.created')
  @ShouldQueue({ onFailed: (e: Created) => e.data.total })
  annotated(e: Created) {
    return e;
  }

  // @ts-expect-error an annotated onFailed must accept what the method accepts
  @ShouldQueue({ onFailed: (e: EventEnvelope<{ id: number }>) => e.data.id })
  @OnEvent('order.created')
  annotatedWrong(e: Created) {
    return e;
  }

  @OnEvent('order.created')
  @ShouldQueue({
    queue: 'emails',
    onFailed: (e, error) => {
      // Without a type argument the hook gets the method's envelope.
      expectTypeOf(e).toEqualTypeOf<Created>();
      expectTypeOf(error).toBeUnknown();
    },
  })
  inferredHook(e: Created) {
    return e;
  }

  @OnEvent('order.created')
  @ShouldQueue({
    // @ts-expect-error the inferred hook sees the mapped payload
    onFailed: (e) => e.data.totl,
  })
  inferredMisspelt(e: Created) {
    return e;
  }

  @OnEvent('order.created')
  @ShouldQueue({
    onFailed(e) {
      // A function (not an arrow) runs with the provider as `this`, typed.
      expectTypeOf(this).toEqualTypeOf<QueuedListeners>();
      this.sent.push(e.data.id);
    },
  })
  typedThis(e: Created) {
    return e;
  }

  @OnEvent('order.created')
  @ShouldQueue({
    onFailed() {
      // @ts-expect-error `this` is the provider: it has no such member
      return this.nope;
    },
  })
  wrongThis(e: Created) {
    return e;
  }

  @OnEvent('order.*')
  @ShouldQueue({
    onFailed: (e) => {
      // A wildcard listener's hook gets its discriminated union.
      if (e.name === 'order.shipped') expectTypeOf(e.data).toEqualTypeOf<OrderShipped>();
      // @ts-expect-error not narrowed: trackingUrl is not on every member
      return e.data.trackingUrl;
    },
  })
  inferredWildcard(e: Created | EventEnvelope<OrderShipped, 'order.shipped'>) {
    return e;
  }

  @OnEvent('order.created')
  @ShouldQueue({ onFailed: (e) => expectTypeOf(e).toEqualTypeOf<EventEnvelope>() })
  noParameter() {
    return 1;
  }

  @OnEvent('order.created')
  @ShouldQueue({ onFailed: 'failed' })
  byName(e: Created) {
    return e;
  }

  failed(e: Created, error: unknown) {
    return [e, error];
  }
}

@ShouldQueue({
  queue: 'all',
  onFailed(e) {
    // On a class: `this` is the provider instance, the event the untyped envelope.
    expectTypeOf(this).toEqualTypeOf<QueuedClass>();
    expectTypeOf(e).toEqualTypeOf<EventEnvelope>();
  },
})
export class QueuedClass {
  @OnEvent('user.registered')
  registered(e: EventEnvelope<{ email: string }>) {
    return e;
  }
}

// Middleware keys given as functions, typed by the listener's events.
expectTypeOf<SelectedEnvelope<never>>().toEqualTypeOf<EventEnvelope>();
expectTypeOf<SelectedEnvelope<'order.created'>>().toEqualTypeOf<Created>();
Idempotent<'order.created'>({
  key: (ctx) => {
    expectTypeOf(ctx).toExtend<MiddlewareKeyContext<Created>>();
    expectTypeOf(ctx.attempt).toBeNumber();
    return ctx.event.data.id;
  },
  ttlMs: 1000,
});
// @ts-expect-error the key function sees the mapped payload
Idempotent<'order.created'>({ key: (ctx) => ctx.event.data.idd, ttlMs: 1000 });
// @ts-expect-error a key function must return a string
Idempotent<'order.created'>({ key: (ctx) => ctx.event.data.total, ttlMs: 1000 });
// @ts-expect-error an unknown name as the type argument
Idempotent<'order.craeted'>({ ttlMs: 1000 });
Idempotent({ key: (ctx) => ctx.event.id, ttlMs: 1000 });
// @ts-expect-error without a type argument the data is unknown
Idempotent({ key: (ctx) => ctx.event.data.id, ttlMs: 1000 });
WithoutOverlapping<'order.line.*'>((ctx) => `order:${ctx.event.data.orderId}`, { leaseMs: 100 });
WithoutOverlapping<'user.*'>(
  (ctx) => (ctx.event.name === 'user.save' ? ctx.event.data.id : ctx.event.data.email),
  { leaseMs: 100 },
);
// @ts-expect-error the key function sees the union of the wildcard's events
WithoutOverlapping<'order.line.*'>((ctx) => ctx.event.data.id, { leaseMs: 100 });
WithoutOverlapping('fixed', { leaseMs: 100 });
Throttle<typeof OrderShipped>(1, 10, (ctx) => {
  expectTypeOf(ctx.event.data).toEqualTypeOf<OrderShipped>();
  return ctx.event.data.trackingUrl;
});
Throttle(1, 10, 'crm');
// @ts-expect-error Throttle's key function is typed too
Throttle<'order.created'>(1, 10, (ctx) => ctx.event.data.sku);

export class MiddlewareListeners {
  @OnEvent('order.created')
  @UseEventMiddleware(
    Idempotent<'order.created'>({ key: (ctx) => ctx.event.data.id, ttlMs: 60_000 }),
  )
  pay(e: Created) {
    return e;
  }
}

// @EventPattern handlers of EventsServer: Nest's typed overload, given the map's entry.
export class Patterns {
  @EventPattern<EventPatternTypes<'order.created'>>('order.created', { queue: 'orders' })
  created(@Payload() order: { id: string; total: number }) {
    expectTypeOf(order.total).toBeNumber();
  }

  @EventPattern<EventPatternTypes<'order.line.*'>>('order.line.*')
  lines(@Payload() line: { orderId: string; sku: string; reason?: string }) {
    return line;
  }

  // @ts-expect-error the handler must accept the payload
  @EventPattern<EventPatternTypes<'order.created'>>('order.created')
  wrongPayload(@Payload() order: { id: number }) {
    return order;
  }

  // @ts-expect-error a wildcard's handler must accept every payload it matches
  @EventPattern<EventPatternTypes<'order.*'>>('order.*')
  tooNarrow(@Payload() order: { id: string; total: number }) {
    return order;
  }

  // EventsRpcContext.getEvent: the handler's pattern types the envelope. (Nest's typed overload
  // types the parameters after the payload `unknown`: a handler with @Ctx uses the string one.)
  @EventPattern<string>('order.created')
  withContext(@Payload() order: EventPayload<'order.created'>, @Ctx() ctx: EventsRpcContext) {
    expectTypeOf(ctx.getEvent<'order.created'>()).toEqualTypeOf<Created>();
    expectTypeOf(ctx.getEvent<'order.created'>().data.total).toBeNumber();
    const line = ctx.getEvent<'order.line.*'>();
    if (line.name === 'order.line.removed')
      expectTypeOf(line.data.reason).toEqualTypeOf<string | undefined>();
    expectTypeOf(ctx.getEvent()).toEqualTypeOf<EnvelopeFor<'**'>>();
    // @ts-expect-error a misspelt pattern
    ctx.getEvent<'order.craeted'>();
    // @ts-expect-error the envelope's payload is the mapped one
    return ctx.getEvent<'order.created'>().data.sku ?? order;
  }

  // @ts-expect-error the pattern must be the one the types were made for
  @EventPattern<EventPatternTypes<'order.created'>>('order.shipped')
  otherName(@Payload() order: { id: string; total: number }) {
    return order;
  }
}

// @ts-expect-error an unknown name
export type Misspelt = EventPatternTypes<'order.craeted'>;
expectTypeOf<EventPatternTypes<'user.*'>['user.*']>().toEqualTypeOf<
  { email: string } | UserSaved
>();
