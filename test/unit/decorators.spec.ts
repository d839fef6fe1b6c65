import { describe, expect, it } from 'vitest';
import { OnEvent, type OnEventMetadata } from '../../lib/decorators/on-event.decorator.js';
import { ShouldQueue } from '../../lib/decorators/should-queue.decorator.js';
import { UseEventMiddleware } from '../../lib/decorators/use-event-middleware.decorator.js';
import { ON_EVENT_METADATA, SHOULD_QUEUE_METADATA } from '../../lib/events.constants.js';
import { EventsError } from '../../lib/errors/events.error.js';
import { InvalidEventNameError } from '../../lib/errors/invalid-event-name.error.js';
import { InvalidOptionError } from '../../lib/errors/invalid-option.error.js';
import { InvalidPatternError } from '../../lib/errors/invalid-pattern.error.js';

/** Runs `define` (a class definition) and returns what it threw. */
function definitionError(define: () => unknown): EventsError {
  let caught: unknown;
  try {
    define();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(EventsError);
  return caught as EventsError;
}

class OrderShipped {
  static readonly eventName = 'order.shipped';
}

class Unnamed {}

// Loose signatures, so that the tests can hand decorators what a JavaScript caller might.
const onEvent = OnEvent as (selectors: unknown, options?: unknown) => MethodDecorator;
const shouldQueue = ShouldQueue as (options?: unknown) => ClassDecorator & MethodDecorator;

function records(method: Function): OnEventMetadata[] {
  return Reflect.getMetadata(ON_EVENT_METADATA, method) as OnEventMetadata[];
}

describe('@OnEvent', () => {
  it('records patterns, event classes and options on the method', () => {
    const filter = () => true;
    class Listeners {
      @OnEvent(['order.*', OrderShipped], { priority: 10, filter, id: 'audit' })
      audit() {}
    }
    expect(records(Listeners.prototype.audit)).toEqual([
      {
        patterns: ['order.*', 'order.shipped'],
        eventClasses: [OrderShipped],
        priority: 10,
        filter,
        id: 'audit',
      },
    ]);
  });

  it('stacks: each decorator adds one record', () => {
    class Listeners {
      @OnEvent('invoice.**')
      @OnEvent('order.created', { priority: -1 })
      handle() {}
    }
    const stacked = records(Listeners.prototype.handle);
    expect(stacked.map((r) => [r.patterns, r.priority])).toEqual([
      [['order.created'], -1],
      [['invoice.**'], 0],
    ]);
  });

  it.each<[string, unknown, RegExp]>([
    ['an empty pattern', '', /it is empty/],
    ['an empty segment', 'order..created', /empty segment/],
    ['a star inside a segment', 'order.*created', /mixes "\*"/],
    ['white space', 'order created', /white space/],
    ['a number', 7, /not a string/],
    ['an empty list', [], /the list is empty/],
    ['a bad pattern in a list', ['order.created', 'a..b'], /empty segment/],
    ['a pattern listed twice', ['order.created', 'order.created'], /listed twice/],
    ['a class and its own name', [OrderShipped, 'order.shipped'], /listed twice/],
  ])('refuses %s when the class is defined', (_label, selectors, reason) => {
    const error = definitionError(() => {
      class Listeners {
        @onEvent(selectors)
        handle() {}
      }
      return Listeners;
    });
    expect(error).toBeInstanceOf(InvalidPatternError);
    expect(error.code).toBe('EVENTS_INVALID_PATTERN');
    expect(error.message).toMatch(reason);
    expect(error.message).toContain('Listeners.handle');
  });

  it('refuses a pattern already given by another @OnEvent on the same method', () => {
    const error = definitionError(() => {
      class Listeners {
        @OnEvent('order.created', { priority: 1 })
        @OnEvent(['invoice.paid', 'order.created'])
        handle() {}
      }
      return Listeners;
    });
    expect(error).toBeInstanceOf(InvalidPatternError);
    expect(error.message).toMatch(/listed twice/);
    expect(error.message).toContain('Listeners.handle');
  });

  it('refuses an event class without a name', () => {
    const error = definitionError(() => {
      class Listeners {
        @onEvent(Unnamed)
        handle() {}
      }
      return Listeners;
    });
    expect(error).toBeInstanceOf(InvalidEventNameError);
    expect(error.message).toContain('Unnamed');
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a NaN priority', { priority: Number.NaN }, 'priority', /a finite number/],
    ['an infinite priority', { priority: Infinity }, 'priority', /a finite number/],
    ['a string priority', { priority: '10' }, 'priority', /a finite number/],
    ['a filter that is not a function', { filter: 'yes' }, 'filter', /a function/],
    ['an empty id', { id: '' }, 'id', /a non-empty string/],
    ['a numeric id', { id: 5 }, 'id', /a non-empty string/],
    ['a misspelled option', { priorty: 10 }, 'priorty', /no such option.*priority/],
    ['null options', null, 'options', /an options object/],
    ['options as a string', 'high', 'options', /an options object/],
  ])('refuses %s', (_label, options, option, allowed) => {
    const error = definitionError(() => {
      class Listeners {
        @onEvent('order.created', options)
        handle() {}
      }
      return Listeners;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.code).toBe('EVENTS_INVALID_OPTION');
    expect((error as InvalidOptionError).option).toBe(`@OnEvent ${option} on Listeners.handle`);
    expect(error.message).toMatch(allowed);
  });
});

describe('@ShouldQueue', () => {
  it('records its options on a method', () => {
    const options = {
      queue: 'emails',
      tries: 5,
      backoff: [1000, 5000, 30000],
      timeout: 30000,
      delay: 10,
      onFailed: 'onMailFailed',
    };
    class Mailer {
      @OnEvent('order.created')
      @ShouldQueue(options)
      send() {}
    }
    expect(Reflect.getMetadata(SHOULD_QUEUE_METADATA, Mailer.prototype.send)).toEqual(options);
  });

  it('records its options on a class, and accepts no options', () => {
    @ShouldQueue()
    class Mailer {}
    expect(Reflect.getMetadata(SHOULD_QUEUE_METADATA, Mailer)).toEqual({});
  });

  it('keeps a copy: changing the options object afterwards changes nothing', () => {
    const options = { tries: 3, backoff: [10, 20] };
    class Mailer {
      @ShouldQueue(options)
      send() {}
    }
    options.tries = 0;
    options.backoff.push(-1);
    expect(Reflect.getMetadata(SHOULD_QUEUE_METADATA, Mailer.prototype.send)).toEqual({
      tries: 3,
      backoff: [10, 20],
    });
  });

  it.each<[string, unknown, string, RegExp]>([
    ['zero tries', { tries: 0 }, 'tries', /integer from 1 to 1000/],
    ['negative tries', { tries: -2 }, 'tries', /integer from 1/],
    ['fractional tries', { tries: 1.5 }, 'tries', /integer/],
    ['tries as a string', { tries: '3' }, 'tries', /integer/],
    ['a negative timeout', { timeout: -1 }, 'timeout', /integer >= 0/],
    ['a fractional timeout', { timeout: 0.5 }, 'timeout', /integer >= 0/],
    ['a negative delay', { delay: -10 }, 'delay', /integer >= 0/],
    ['a negative backoff', { backoff: -1 }, 'backoff', /ms \(integer >= 0\)/],
    ['an empty backoff list', { backoff: [] }, 'backoff', /non-empty list/],
    [
      'an unknown backoff type',
      { backoff: { type: 'linear', delay: 1 } },
      'backoff',
      /exponential/,
    ],
    ['a bad queue name', { queue: 'my queue' }, 'queue', /letters, digits/],
    ['a queue name with a brace', { queue: 'a{b}' }, 'queue', /letters, digits/],
    ['onFailed as a number', { onFailed: 1 }, 'onFailed', /a function or a method name/],
    ['an unknown key', { retries: 3 }, 'retries', /no such option.*tries/],
  ])('refuses %s on a method when the class is defined', (_label, options, key, allowed) => {
    const error = definitionError(() => {
      class Mailer {
        @OnEvent('order.created')
        @shouldQueue(options)
        send() {}
      }
      return Mailer;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.code).toBe('EVENTS_INVALID_OPTION');
    expect((error as InvalidOptionError).option).toBe(`@ShouldQueue ${key} on Mailer.send`);
    expect(error.message).toMatch(allowed);
  });

  it('refuses bad options on a class, naming the class', () => {
    const error = definitionError(() => {
      @shouldQueue({ tries: 0 })
      class Mailer {}
      return Mailer;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('@ShouldQueue tries on Mailer');
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a number', 3],
    ['an array', [{ tries: 3 }]],
  ])('refuses %s as options', (_label, options) => {
    const error = definitionError(() => {
      class Mailer {
        @shouldQueue(options)
        send() {}
      }
      return Mailer;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toMatch(/an options object/);
  });
});

describe('@UseEventMiddleware', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'AuditMiddleware'],
    ['an object without use()', { handle() {} }],
  ])('refuses %s at once', (_label, middleware) => {
    const use = UseEventMiddleware as (...middleware: unknown[]) => unknown;
    const error = definitionError(() => use(middleware));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toMatch(/a middleware class or an object with use\(\)/);
  });
});
