import { Logger } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import { composeMiddleware } from '../../lib/middleware/middleware-chain.js';
import type {
  EventMiddleware,
  EventMiddlewareContext,
  ListenerInfo,
} from '../../lib/middleware/event-middleware.interface.js';
import type { ListenerContext, ListenerFn } from '../../lib/discovery/listener-definition.js';
import type { EventEnvelope } from '../../lib/event/event-envelope.js';

const info: ListenerInfo = {
  id: 'Mailer.send',
  className: 'Mailer',
  methodName: 'send',
  isQueued: true,
};
const event: EventEnvelope<{ id: string }> = {
  id: 'e1',
  name: 'order.created',
  data: { id: 'o1' },
  metadata: { correlationId: 'e1' },
  timestamp: 1,
};

function listenerContext(): ListenerContext {
  return { signal: new AbortController().signal, attempt: 2, queue: 'emails', listener: info.id };
}

function recording(log: string[], name: string): EventMiddleware {
  return {
    async use(_context, next) {
      log.push(`${name}:before`);
      const result = await next();
      log.push(`${name}:after`);
      return result;
    },
  };
}

describe('composeMiddleware', () => {
  it('returns the listener itself when there is no middleware', () => {
    const listener: ListenerFn = () => 'done';
    expect(composeMiddleware([], listener, info)).toBe(listener);
  });

  it('runs middleware outermost first, around the listener', async () => {
    const log: string[] = [];
    const listener: ListenerFn = () => {
      log.push('listener');
      return 'result';
    };
    const chain = composeMiddleware(
      [recording(log, 'outer'), recording(log, 'middle'), recording(log, 'inner')],
      listener,
      info,
    );
    await expect(chain(event, listenerContext())).resolves.toBe('result');
    expect(log).toEqual([
      'outer:before',
      'middle:before',
      'inner:before',
      'listener',
      'inner:after',
      'middle:after',
      'outer:after',
    ]);
  });

  it('gives middleware the event, the listener, the attempt, the queue and the signal', async () => {
    const seen: EventMiddlewareContext[] = [];
    const context = listenerContext();
    const chain = composeMiddleware(
      [
        {
          use(middlewareContext, next) {
            seen.push(middlewareContext);
            return next();
          },
        },
      ],
      () => undefined,
      info,
    );
    await chain(event, context);
    expect(seen).toHaveLength(1);
    expect(seen[0].event).toEqual(event);
    expect(seen[0].listener).toBe(info);
    expect(seen[0].attempt).toBe(2);
    expect(seen[0].queue).toBe('emails');
    expect(seen[0].signal).toBe(context.signal);
  });

  it('calls the listener with the event and its own context', async () => {
    const calls: [EventEnvelope, ListenerContext][] = [];
    const context = listenerContext();
    const chain = composeMiddleware(
      [recording([], 'm')],
      (e, c) => {
        calls.push([e, c]);
      },
      info,
    );
    await chain(event, context);
    expect(calls).toEqual([[event, context]]);
  });

  it('skips the listener (and inner middleware) when next is not called', async () => {
    const log: string[] = [];
    const chain = composeMiddleware(
      [
        recording(log, 'outer'),
        {
          use() {
            log.push('gate');
            return 'skipped';
          },
        },
        recording(log, 'inner'),
      ],
      () => {
        log.push('listener');
      },
      info,
    );
    await expect(chain(event, listenerContext())).resolves.toBe('skipped');
    expect(log).toEqual(['outer:before', 'gate', 'outer:after']);
  });

  it('rejects when a middleware throws synchronously, and calls no listener', async () => {
    let called = false;
    const failure = new Error('middleware broke');
    const chain = composeMiddleware(
      [
        {
          use() {
            throw failure;
          },
        },
      ],
      () => {
        called = true;
      },
      info,
    );
    const result = chain(event, listenerContext());
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBe(failure);
    expect(called).toBe(false);
  });

  it('rejects when a middleware rejects after the listener ran', async () => {
    const chain = composeMiddleware(
      [
        {
          async use(_context, next) {
            await next();
            throw new Error('after failed');
          },
        },
      ],
      () => 'ok',
      info,
    );
    await expect(chain(event, listenerContext())).rejects.toThrow('after failed');
  });

  it('passes a listener failure out through the middleware, which may observe it', async () => {
    const observed: unknown[] = [];
    const failure = new Error('listener broke');
    const chain = composeMiddleware(
      [
        {
          async use(_context, next) {
            try {
              return await next();
            } catch (error) {
              observed.push(error);
              throw error;
            }
          },
        },
      ],
      () => {
        throw failure;
      },
      info,
    );
    await expect(chain(event, listenerContext())).rejects.toBe(failure);
    expect(observed).toEqual([failure]);
  });

  it('rejects when a middleware calls next twice, and runs the listener once', async () => {
    let calls = 0;
    const chain = composeMiddleware(
      [
        {
          async use(_context, next) {
            await next();
            return next();
          },
        },
      ],
      () => {
        calls++;
      },
      info,
    );
    await expect(chain(event, listenerContext())).rejects.toThrow(/next\(\).*twice/);
    expect(calls).toBe(1);
  });

  it('lets a middleware recover from a listener failure', async () => {
    const chain = composeMiddleware(
      [
        {
          async use(_context, next) {
            return next().catch(() => 'fallback');
          },
        },
      ],
      () => Promise.reject(new Error('nope')),
      info,
    );
    await expect(chain(event, listenerContext())).resolves.toBe('fallback');
  });

  it('can be called again: each call runs the whole chain', async () => {
    const log: string[] = [];
    const chain = composeMiddleware([recording(log, 'm')], () => log.push('listener'), info);
    await chain(event, listenerContext());
    await chain(event, listenerContext());
    expect(log).toEqual(['m:before', 'listener', 'm:after', 'm:before', 'listener', 'm:after']);
  });
});

describe('composeMiddleware: a middleware that does not await next()', () => {
  it('reports a later failure of the listener instead of leaving it unhandled', async () => {
    const errors: unknown[] = [];
    const spy = vi.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(message);
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const fireAndForget: EventMiddleware = {
        use(_context, next) {
          void next();
          return 'returned early';
        },
      };
      const listener: ListenerFn = async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error('late boom');
      };
      const call = composeMiddleware([fireAndForget], listener, info);
      await expect(call(event, listenerContext())).resolves.toBe('returned early');
      await vi.waitFor(() => expect(errors).toHaveLength(1));
      expect(String(errors[0])).toContain('late boom');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      spy.mockRestore();
    }
  });
});
