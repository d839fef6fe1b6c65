import { describe, expect, it } from 'vitest';
import { assertEventName, getEventClassName, isEventInstance } from '../../lib/event/event-name.js';
import { EventName } from '../../lib/decorators/event-name.decorator.js';
import { InvalidEventNameError } from '../../lib/errors/invalid-event-name.error.js';

function thrownBy(fn: () => unknown): InvalidEventNameError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidEventNameError);
  expect((caught as InvalidEventNameError).code).toBe('EVENTS_INVALID_EVENT_NAME');
  return caught as InvalidEventNameError;
}

class OrderShipped {
  static readonly eventName = 'order.shipped';
  constructor(readonly orderId: string) {}
}

@EventName('invoice.paid')
class InvoicePaid {
  constructor(readonly invoiceId: string) {}
}

class Unnamed {
  constructor(readonly id: string) {}
}

class ExpressShipped extends OrderShipped {}

describe('assertEventName', () => {
  it.each(['order.created', 'a', 'order.created.v2', 'shop-eu:order_created', 'commande.créée'])(
    'accepts %j',
    (name) => {
      expect(() => assertEventName(name)).not.toThrow();
      // The second check is served from the cache of valid names and must agree.
      expect(() => assertEventName(name)).not.toThrow();
    },
  );

  it.each<[string, unknown, RegExp]>([
    ['an empty name', '', /it is empty/],
    ['an empty segment', 'order..created', /empty segment/],
    ['a leading dot', '.order', /empty segment/],
    ['a trailing dot', 'order.', /empty segment/],
    ['a "*" wildcard', 'order.*', /wildcards belong in listener patterns/],
    ['a "**" wildcard', '**', /wildcards belong in listener patterns/],
    ['a star inside a segment', 'order.cre*ted', /wildcards/],
    ['a space', 'order created', /white space/],
    ['a newline', 'order.created\n', /white space/],
    ['a number', 42, /not a string/],
    ['null', null, /not a string/],
    ['undefined', undefined, /not a string/],
    ['an object', { name: 'order.created' }, /not a string/],
  ])('refuses %s', (_label, name, reason) => {
    const error = thrownBy(() => assertEventName(name));
    expect(error.message).toMatch(reason);
    expect(error.received).toBe(name);
    // Refused names are not cached: they stay refused.
    thrownBy(() => assertEventName(name));
  });
});

describe('getEventClassName', () => {
  it('reads static eventName', () => {
    expect(getEventClassName(OrderShipped)).toBe('order.shipped');
  });

  it('reads @EventName', () => {
    expect(getEventClassName(InvoicePaid)).toBe('invoice.paid');
  });

  it('refuses a class without a name, and says how to give one', () => {
    const error = thrownBy(() => getEventClassName(Unnamed));
    expect(error.message).toContain('Unnamed');
    expect(error.message).toContain('static readonly eventName');
    expect(error.message).toContain('@EventName');
  });

  it('does not inherit a name: a subclass names its own events', () => {
    thrownBy(() => getEventClassName(ExpressShipped));
  });

  it('refuses a class whose static name is not a valid event name', () => {
    class Wild {
      static readonly eventName = 'order.*';
    }
    class NotAString {
      static readonly eventName = 7;
    }
    expect(thrownBy(() => getEventClassName(Wild)).message).toMatch(/wildcards/);
    expect(thrownBy(() => getEventClassName(NotAString)).message).toMatch(/not a string/);
  });

  it.each<[string, unknown]>([
    ['a string', 'order.shipped'],
    ['an instance', new OrderShipped('o1')],
    ['null', null],
  ])('refuses %s where a class is expected', (_label, value) => {
    expect(thrownBy(() => getEventClassName(value)).message).toMatch(/expected an event class/);
  });

  it('refuses an invalid @EventName when the class is defined', () => {
    expect(() => EventName('order..shipped')).toThrow(InvalidEventNameError);
    expect(() => EventName('order.*')).toThrow(InvalidEventNameError);
  });
});

describe('isEventInstance', () => {
  it('is true for instances of named event classes', () => {
    expect(isEventInstance(new OrderShipped('o1'))).toBe(true);
    expect(isEventInstance(new InvoicePaid('i1'))).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a plain object', { orderId: 'o1' }],
    ['a null-prototype object', Object.create(null)],
    ['an array', []],
    ['null', null],
    ['a string', 'order.shipped'],
    ['a number', 1],
    ['an event class itself', OrderShipped],
    ['an instance of an unnamed class', new Unnamed('u1')],
    ['an instance of a subclass without its own name', new ExpressShipped('o1')],
    ['a Date', new Date()],
    ['a plain object faking its constructor', { constructor: OrderShipped, orderId: 'o1' }],
  ])('is false for %s', (_label, value) => {
    expect(isEventInstance(value)).toBe(false);
  });
});
