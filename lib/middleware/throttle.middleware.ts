import { Inject, Injectable, type Type } from '@nestjs/common';
import type { ListenerSelector, SelectedEnvelope } from '../event/event-map.js';
import { COORDINATION_STORE, type CoordinationStore } from './coordination.store.js';
import type { EventMiddleware, EventMiddlewareContext } from './event-middleware.interface.js';
import {
  assertMiddlewareKey,
  assertPositive,
  resolveKey,
  type MiddlewareKey,
} from './middleware-key.js';

/**
 * A rate limit: at most `limit` attempts start in any `windowMs` (a sliding window), counted per
 * `key` (default: per listener) and shared by every worker (in Redis with the Redis transport, in
 * memory otherwise). An attempt over the limit does not run and is not a failure: a queued job is
 * released back to its queue until the window allows it (its attempt number unchanged); an
 * in-process call waits as long, then runs (nothing is dropped; `emitAsync` resolves later).
 *
 * @param limit attempts allowed per window (>= 1)
 * @param windowMs the window in ms (>= 1)
 * @param key a fixed key shared by several listeners (one limit for one API), or a function of
 *   the call (typed by the optional type argument once the event map is declared:
 *   `Throttle<'invoice.created'>(10, 1000, (ctx) => ctx.event.data.tenantId)`); default: the listener id
 * @example
 * @OnEvent('invoice.created')
 * @ShouldQueue({ queue: 'crm' })
 * @UseEventMiddleware(Throttle(10, 1000, 'crm-api')) // 10 calls a second across all workers
 * async push(event: EventEnvelope<Invoice>) {}
 */
export function Throttle<const S extends ListenerSelector | readonly ListenerSelector[] = never>(
  limit: number,
  windowMs: number,
  key?: MiddlewareKey<SelectedEnvelope<S>>,
): Type<EventMiddleware> {
  assertPositive('Throttle limit', limit);
  assertPositive('Throttle windowMs', windowMs);
  if (key !== undefined) assertMiddlewareKey('Throttle key', key);

  @Injectable()
  class ThrottleMiddleware implements EventMiddleware {
    constructor(@Inject(COORDINATION_STORE) private readonly store: CoordinationStore) {}

    async use(context: EventMiddlewareContext, next: () => Promise<unknown>): Promise<unknown> {
      const name =
        key === undefined
          ? context.listener.id
          : resolveKey(key as MiddlewareKey, context, 'Throttle key');
      const waitMs = await this.store.hit(`throttle:${name}`, limit, windowMs);
      if (waitMs > 0) context.release(waitMs);
      return next();
    }
  }
  return ThrottleMiddleware;
}
