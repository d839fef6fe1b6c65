import { expectTypeOf } from 'vitest';
import {
  After,
  Before,
  Failed,
  OnEvent,
  ShouldQueue,
  type AfterEventData,
  type EventEnvelope,
  type FailedEventData,
  type ListenerContext,
  type ListenerEnvelope,
} from 'nestjs-events';
import { LooseEvent, OrderShipped, type UserSaved } from './events.js';

type Created = EventEnvelope<{ id: string; total: number }, 'order.created'>;

export class Listeners {
  @OnEvent('order.created')
  exact(e: Created) {
    expectTypeOf(e.data.total).toBeNumber();
  }

  @OnEvent('order.created')
  wider(e: EventEnvelope<{ id: string }>, context: ListenerContext) {
    return [e, context];
  }

  @OnEvent('order.created')
  untypedParameter(e: EventEnvelope) {
    return e;
  }

  @OnEvent('order.created')
  noParameter() {}

  // @ts-expect-error the parameter wants a payload the event does not have
  @OnEvent('order.created')
  wrongPayload(e: EventEnvelope<{ id: number }>) {
    return e;
  }

  // @ts-expect-error the parameter is not an envelope
  @OnEvent('order.created')
  notAnEnvelope(e: string) {
    return e;
  }

  // @ts-expect-error an unknown exact name
  @OnEvent('order.craeted')
  misspelt() {}

  // @ts-expect-error a wildcard listener typed as one of its events only
  @OnEvent('order.*')
  tooNarrow(e: Created) {
    return e;
  }

  @OnEvent('order.*')
  oneLevel(e: Created | EventEnvelope<OrderShipped, 'order.shipped'>) {
    if (e.name === 'order.shipped') expectTypeOf(e.data.trackingUrl).toBeString();
    else expectTypeOf(e.data.total).toBeNumber();
  }

  @OnEvent('order.line.*')
  twoLevels(e: EventEnvelope<{ orderId: string; sku: string; reason?: string }>) {
    return e;
  }

  @OnEvent('**')
  everything(e: EventEnvelope) {
    return e;
  }

  @OnEvent(['order.created', 'user.*'], { priority: 5 })
  list(e: ListenerEnvelope<['order.created', 'user.*']>) {
    expectTypeOf(e.name).toEqualTypeOf<'order.created' | 'user.registered' | 'user.save'>();
  }

  // @ts-expect-error a list: the union must be accepted
  @OnEvent(['order.created', 'user.registered'])
  listTooNarrow(e: Created) {
    return e;
  }

  @OnEvent(OrderShipped)
  classEvent(e: EventEnvelope<OrderShipped, 'order.shipped'>) {
    expectTypeOf(e.data).toEqualTypeOf<OrderShipped>();
  }

  // @ts-expect-error a class event listener expecting another class
  @OnEvent(OrderShipped)
  classWrong(e: EventEnvelope<Date>) {
    return e;
  }

  @OnEvent([OrderShipped, 'order.created'])
  classAndName(e: EventEnvelope<OrderShipped> | Created) {
    return e;
  }

  @OnEvent(LooseEvent)
  looseName(e: EventEnvelope<LooseEvent>) {
    expectTypeOf(e.name).toBeString();
  }

  @OnEvent('order.*', {
    // In a filter, a wildcard's envelope is one envelope of the unions (names, payloads).
    filter: (e) => {
      expectTypeOf(e.name).toEqualTypeOf<'order.created' | 'order.shipped'>();
      return 'total' in e.data ? e.data.total > 1000 : e.data.trackingUrl !== '';
    },
  })
  filtered() {}

  @OnEvent('order.created', {
    // @ts-expect-error the filter sees the mapped payload
    filter: (e) => e.data.totl > 1,
  })
  badFilter() {}

  @OnEvent('order.created')
  @ShouldQueue({ queue: 'emails' })
  queued(e: Created) {
    return e;
  }

  @Before('user.save')
  before(e: EventEnvelope<UserSaved, 'user.save.before'>) {
    expectTypeOf(e.data.email).toBeString();
  }

  @After('user.save')
  after(e: EventEnvelope<AfterEventData<UserSaved>>) {
    return e;
  }

  @Failed('user.save', { filter: (e) => e.data.error.message !== '' })
  failed(e: EventEnvelope<FailedEventData<UserSaved>>) {
    return e;
  }

  // @ts-expect-error Before checks the name
  @Before('user.sav')
  beforeMisspelt() {}

  // @ts-expect-error After checks the listener's payload
  @After('user.save')
  afterWrong(e: EventEnvelope<UserSaved>) {
    return e;
  }
}
