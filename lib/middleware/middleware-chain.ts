import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import type { ListenerContext, ListenerFn } from '../discovery/listener-definition.js';
import { EventsError } from '../errors/events.error.js';
import { assertInteger } from '../option-assertions.js';
import type {
  EventMiddleware,
  EventMiddlewareContext,
  ListenerInfo,
} from './event-middleware.interface.js';
import { ReleaseJobSignal } from './release-job.signal.js';
import { WallClockTimer } from '../wall-clock-timer.js';

const logger = new Logger('EventMiddleware');

/**
 * The context one call through a chain shares between its middleware. Its `signal` is the
 * call's own until a middleware narrows it (such as `Timeout`), and is read from the call's
 * context only when asked: a queued attempt makes its `AbortController` on first read.
 */
class ChainContext implements EventMiddlewareContext {
  /** Set (then restored) by a middleware that narrows the signal. */
  narrowed: AbortSignal | undefined;
  isListenerCalled = false;
  readonly attempt: number;
  readonly queue: string | undefined;

  constructor(
    readonly event: EventEnvelope,
    readonly metadata: Record<string, string>,
    readonly listener: ListenerInfo,
    private readonly call: ListenerContext,
  ) {
    this.attempt = call.attempt;
    this.queue = call.queue;
  }

  get signal(): AbortSignal {
    return this.narrowed ?? this.call.signal;
  }

  release(delayMs: number): never {
    assertInteger(`context.release() delayMs (listener ${this.listener.id})`, delayMs, 0);
    throw new ReleaseJobSignal(delayMs);
  }
}

/**
 * Wraps a listener in middleware, outermost first (global, then class, then method). With no
 * middleware the listener itself is returned, so listeners without middleware pay nothing for
 * the feature.
 *
 * Each call gets its own copy of the envelope and of its metadata: what a middleware changes is
 * seen by this listener (and inherited by the events it emits), never by the other listeners of
 * the same event. A released in-process call waits and runs the whole chain again; a released
 * queued call is handed back to the worker, which puts the job back in its queue.
 */
export function composeMiddleware(
  middleware: readonly EventMiddleware[],
  listener: ListenerFn,
  info: ListenerInfo,
): ListenerFn {
  if (middleware.length === 0) return listener;
  const run = (event: EventEnvelope, context: ListenerContext): Promise<unknown> => {
    const metadata = { ...event.metadata };
    const chain = new ChainContext({ ...event, metadata }, metadata, info, context);
    const step = (index: number): Promise<unknown> => {
      if (index === middleware.length) {
        chain.isListenerCalled = true;
        const listenerContext =
          chain.narrowed === undefined ? context : { ...context, signal: chain.narrowed };
        return Promise.resolve().then(() =>
          EventContext.runAs(chain.event, () => listener(chain.event, listenerContext)),
        );
      }
      let downstream: Promise<unknown> | undefined;
      let isSettled = false;
      return Promise.resolve()
        .then(() =>
          middleware[index].use(chain, () => {
            if (downstream) {
              return Promise.reject(
                new EventsError(
                  'EVENTS_MIDDLEWARE_NEXT_TWICE',
                  `A middleware of listener ${info.id} called next() twice; call it at most once.`,
                ),
              );
            }
            downstream = step(index + 1);
            // Also marks the rejection as handled: a middleware may drop next()'s promise.
            downstream.then(
              () => (isSettled = true),
              () => (isSettled = true),
            );
            return downstream;
          }),
        )
        .then((value) => {
          if (downstream && !isSettled) {
            // The middleware returned without waiting for next(): a later failure of the rest
            // of the chain is reported rather than lost.
            downstream.catch((error: unknown) =>
              logger.error(
                `Listener ${info.id} failed after a middleware returned without awaiting next(): ${error instanceof Error ? error.message : String(error)}`,
                error instanceof Error ? error.stack : undefined,
              ),
            );
          }
          return value;
        });
    };
    return step(0);
  };
  if (info.isQueued) return run;
  const runInProcess = (event: EventEnvelope, context: ListenerContext): Promise<unknown> =>
    run(event, context).catch((error: unknown) => {
      if (!(error instanceof ReleaseJobSignal)) throw error;
      // By the wall clock: a plain timer set late in a busy loop turn can fire early by it.
      const dueAt = Date.now() + error.delayMs;
      return new Promise<void>((resolve) => new WallClockTimer(dueAt, resolve)).then(() =>
        runInProcess(event, context),
      );
    });
  return runInProcess;
}

/**
 * @internal Runs `fn` (usually `next`) with `signal` as the signal the rest of the chain and the
 * listener see; restores the previous one when it settles.
 */
export function runWithSignal<R>(
  context: EventMiddlewareContext,
  signal: AbortSignal,
  fn: () => Promise<R>,
): Promise<R> {
  if (!(context instanceof ChainContext)) return fn();
  const previous = context.narrowed;
  context.narrowed = signal;
  return fn().finally(() => {
    context.narrowed = previous;
  });
}

/** @internal Whether the listener itself was reached in this call (false: a middleware skipped it). */
export function wasListenerCalled(context: EventMiddlewareContext): boolean {
  return context instanceof ChainContext ? context.isListenerCalled : true;
}
