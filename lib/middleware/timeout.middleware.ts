import { Injectable, type Type } from '@nestjs/common';
import { JobTimeoutError } from '../errors/job-timeout.error.js';
import type { EventMiddleware, EventMiddlewareContext } from './event-middleware.interface.js';
import { runWithSignal } from './middleware-chain.js';
import { assertPositive } from './middleware-key.js';

/**
 * A time limit for the rest of the chain and the listener. Past `ms` the attempt fails with
 * `JobTimeoutError` (a queued job is then retried or dead-lettered with reason `timeout`, an
 * in-process failure is logged and reported by `emitAsync`), and the `signal` the listener got
 * aborts with that error so it can stop its work. Unlike `@ShouldQueue({ timeout })` it also
 * works for in-process listeners, and can be given per class or globally.
 *
 * @param ms the limit in ms (>= 1)
 * @example
 * @UseEventMiddleware(Timeout(5000))
 */
export function Timeout(ms: number): Type<EventMiddleware> {
  assertPositive('Timeout ms', ms);

  @Injectable()
  class TimeoutMiddleware implements EventMiddleware {
    use(context: EventMiddlewareContext, next: () => Promise<unknown>): Promise<unknown> {
      const controller = new AbortController();
      const timedOut = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), {
          once: true,
        });
      });
      const timer = setTimeout(
        () => controller.abort(new JobTimeoutError(context.listener.id, ms)),
        ms,
      );
      const signal = AbortSignal.any([context.signal, controller.signal]);
      return Promise.race([runWithSignal(context, signal, next), timedOut]).finally(() =>
        clearTimeout(timer),
      );
    }
  }
  return TimeoutMiddleware;
}
