import { describe, expect, it, vi } from 'vitest';
import {
  EventContext,
  EventsError,
  Idempotent,
  InvalidOptionError,
  ReleaseJobSignal,
  Throttle,
  Timeout,
  WithoutOverlapping,
  type EventEnvelope,
  type EventMiddleware,
  type ListenerContext,
  type ListenerInfo,
} from 'nestjs-events';
import { composeMiddleware } from '../../lib/middleware/middleware-chain.js';
import { MemoryCoordinationStore } from '../../lib/middleware/memory-coordination.store.js';

const envelope: EventEnvelope = {
  id: 'e1',
  name: 'a.b',
  data: { n: 1 },
  metadata: { correlationId: 'e1' },
  timestamp: 0,
};
const inProcess: ListenerInfo = { id: 'L.inProcess', isQueued: false };
const queued: ListenerInfo = { id: 'L.queued', isQueued: true };
const context: ListenerContext = {
  signal: new AbortController().signal,
  attempt: 2,
  queue: 'q',
  listener: 'L.queued',
};

function tracer(name: string, trail: string[]): EventMiddleware {
  return {
    async use(_context, next) {
      trail.push(`${name}:before`);
      const result = await next();
      trail.push(`${name}:after`);
      return result;
    },
  };
}

describe('composeMiddleware', () => {
  it('returns the listener itself when there is no middleware (no cost)', () => {
    const listener = () => 1;
    expect(composeMiddleware([], listener, inProcess)).toBe(listener);
  });

  it('runs middleware outermost first around the listener and returns its result', async () => {
    const trail: string[] = [];
    const chain = composeMiddleware(
      [tracer('a', trail), tracer('b', trail)],
      () => {
        trail.push('listener');
        return 42;
      },
      queued,
    );
    await expect(chain(envelope, context)).resolves.toBe(42);
    expect(trail).toEqual(['a:before', 'b:before', 'listener', 'b:after', 'a:after']);
  });

  it('gives middleware the event, listener, attempt, queue and signal', async () => {
    const seen = vi.fn();
    const chain = composeMiddleware(
      [{ use: (ctx, next) => (seen(ctx), next()) }],
      () => undefined,
      queued,
    );
    await chain(envelope, context);
    expect(seen.mock.calls[0][0]).toMatchObject({
      event: { id: 'e1', data: { n: 1 } },
      listener: queued,
      attempt: 2,
      queue: 'q',
      signal: context.signal,
      metadata: { correlationId: 'e1' },
    });
  });

  it('lets a middleware change metadata for the listener and its emits, on a copy', async () => {
    let inherited: string | undefined;
    const chain = composeMiddleware(
      [
        {
          use(ctx, next) {
            ctx.metadata.tenantId = 't1';
            return next();
          },
        },
      ],
      (event) => {
        inherited = EventContext.get('tenantId');
        return event.metadata.tenantId;
      },
      inProcess,
    );
    await expect(chain(envelope, context)).resolves.toBe('t1');
    expect(inherited).toBe('t1');
    expect(envelope.metadata).toEqual({ correlationId: 'e1' });
  });

  it('turns a synchronous throw into a rejection, and refuses next() called twice', async () => {
    const throwing = composeMiddleware(
      [
        {
          use() {
            throw new Error('boom');
          },
        },
      ],
      () => 1,
      queued,
    );
    await expect(throwing(envelope, context)).rejects.toThrow('boom');
    const twice = composeMiddleware(
      [{ use: async (_ctx, next) => (await next(), next()) }],
      () => 1,
      queued,
    );
    const error = await Promise.resolve(twice(envelope, context)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventsError);
    expect(error).toMatchObject({ code: 'EVENTS_MIDDLEWARE_NEXT_TWICE' });
  });

  it('hands a release of a queued call to the worker as ReleaseJobSignal', async () => {
    const listener = vi.fn();
    const chain = composeMiddleware([{ use: (ctx) => ctx.release(250) }], listener, queued);
    const signal = await Promise.resolve(chain(envelope, context)).catch((e: unknown) => e);
    expect(signal).toBeInstanceOf(ReleaseJobSignal);
    expect(signal).toMatchObject({ delayMs: 250 });
    expect(listener).not.toHaveBeenCalled();
  });

  it('runs a released in-process call again after the delay, with a fresh copy', async () => {
    let calls = 0;
    const chain = composeMiddleware(
      [
        {
          use(ctx, next) {
            ctx.metadata.seen = `${ctx.metadata.seen ?? ''}x`;
            if (++calls === 1) ctx.release(5);
            return next();
          },
        },
      ],
      (event) => event.metadata.seen,
      inProcess,
    );
    await expect(chain(envelope, context)).resolves.toBe('x');
    expect(calls).toBe(2);
  });

  it('runs a released in-process call again no earlier than the delay by Date.now', async () => {
    vi.useFakeTimers();
    try {
      const start = Date.now();
      let calls = 0;
      const chain = composeMiddleware(
        [{ use: (ctx, next) => (++calls === 1 ? ctx.release(100) : next()) }],
        () => Date.now(),
        inProcess,
      );
      const result = chain(envelope, context);
      await vi.advanceTimersByTimeAsync(0); // the release is caught and its timer set
      // The loop's cached time ran ahead of the wall clock: the timer fires 5 ms early by it.
      vi.setSystemTime(start - 5);
      await vi.advanceTimersByTimeAsync(100);
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(5);
      expect(calls).toBe(2);
      await expect(result).resolves.toBeGreaterThanOrEqual(start + 100);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a release delay that is not an integer >= 0', async () => {
    const chain = composeMiddleware([{ use: (ctx) => ctx.release(-1) }], () => 1, queued);
    await expect(Promise.resolve(chain(envelope, context))).rejects.toThrow(InvalidOptionError);
  });

  it('reads the attempt signal only when a middleware or the listener asks for it', async () => {
    let reads = 0;
    const lazy: ListenerContext = {
      get signal() {
        reads += 1;
        return context.signal;
      },
      attempt: 1,
      queue: 'q',
      listener: 'L.queued',
    };
    const quiet = composeMiddleware([tracer('a', [])], () => 1, queued);
    await quiet(envelope, lazy);
    expect(reads).toBe(0);

    const seen: AbortSignal[] = [];
    const asking = composeMiddleware(
      [{ use: (ctx, next) => (seen.push(ctx.signal), next()) }],
      (_event, ctx) => seen.push(ctx.signal),
      queued,
    );
    await asking(envelope, lazy);
    expect(seen).toEqual([context.signal, context.signal]);
    expect(reads).toBe(2);
  });
});

describe('built-in middleware factories', () => {
  it('refuse bad arguments when the decorator is applied', () => {
    expect(() => Throttle(0, 1000)).toThrow(/Throttle limit/);
    expect(() => Throttle(1, 1.5)).toThrow(/Throttle windowMs/);
    expect(() => Throttle(1, 1000, '')).toThrow(/Throttle key/);
    expect(() => Timeout(-5)).toThrow(/Timeout ms/);
    expect(() => Idempotent(undefined as never)).toThrow(/Idempotent options/);
    expect(() => Idempotent({ ttlMs: 0 })).toThrow(/Idempotent ttlMs/);
    expect(() => WithoutOverlapping('k', { leaseMs: 0 })).toThrow(/WithoutOverlapping leaseMs/);
    expect(() => WithoutOverlapping(42 as never, { leaseMs: 10 })).toThrow(InvalidOptionError);
  });

  it('fail the attempt clearly when a key function returns no string', async () => {
    const Mw = WithoutOverlapping(() => undefined as never, { leaseMs: 1000 });
    const chain = composeMiddleware([new Mw(new MemoryCoordinationStore())], () => 1, queued);
    await expect(Promise.resolve(chain(envelope, context))).rejects.toThrow(
      /WithoutOverlapping key \(listener L\.queued\)/,
    );
  });

  it('Timeout aborts the signal the listener gets, not the caller signal', async () => {
    const Mw = Timeout(10);
    const outer = new AbortController();
    const chain = composeMiddleware(
      [new Mw()],
      (_event, { signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      queued,
    );
    const error = await Promise.resolve(
      chain(envelope, { ...context, signal: outer.signal }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'EVENTS_JOB_TIMEOUT',
      listener: 'L.queued',
      timeoutMs: 10,
    });
    expect(outer.signal.aborted).toBe(false);
  });
});
