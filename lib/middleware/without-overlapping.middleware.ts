import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { ListenerSelector, SelectedEnvelope } from '../event/event-map.js';
import { COORDINATION_STORE, type CoordinationStore } from './coordination.store.js';
import type { EventMiddleware, EventMiddlewareContext } from './event-middleware.interface.js';
import {
  assertMiddlewareKey,
  assertPositive,
  holdLease,
  resolveKey,
  type MiddlewareKey,
} from './middleware-key.js';

/** Options of `WithoutOverlapping`. */
export interface WithoutOverlappingOptions {
  /**
   * How long (ms) the lock lasts without renewal. It is renewed while the attempt runs, so it
   * only expires when the worker holding it dies (or freezes longer than this).
   */
  leaseMs: number;
  /**
   * How long (ms) a blocked attempt waits before it tries again.
   * @default 1000 (or the lock's remaining time, when shorter)
   */
  releaseAfterMs?: number;
}

/**
 * No two attempts with the same key run at once, across every listener that uses the key and
 * every worker (Redis with the Redis transport, memory otherwise). A blocked queued job is
 * released back to its queue (not failed, its attempt number unchanged); a blocked in-process
 * call waits, then tries again.
 *
 * @param key a fixed key, or a function of the call (`(ctx) => \`account:${ctx.event.data.id}\``)
 * @example
 * @UseEventMiddleware(WithoutOverlapping((ctx) => `ledger:${ctx.event.id}`, { leaseMs: 30000 }))
 * // With the event map, name the listener's events to type the key function:
 * @UseEventMiddleware(
 *   WithoutOverlapping<'ledger.*'>((ctx) => `ledger:${ctx.event.data.accountId}`, { leaseMs: 30000 }),
 * )
 */
export function WithoutOverlapping<
  const S extends ListenerSelector | readonly ListenerSelector[] = never,
>(
  key: MiddlewareKey<SelectedEnvelope<S>>,
  options: WithoutOverlappingOptions,
): Type<EventMiddleware> {
  assertMiddlewareKey('WithoutOverlapping key', key);
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('WithoutOverlapping options', options, '{ leaseMs }');
  }
  const { leaseMs, releaseAfterMs = 1000 } = options;
  assertPositive('WithoutOverlapping leaseMs', leaseMs);
  assertPositive('WithoutOverlapping releaseAfterMs', releaseAfterMs);

  @Injectable()
  class WithoutOverlappingMiddleware implements EventMiddleware {
    private readonly logger = new Logger('WithoutOverlapping');

    constructor(@Inject(COORDINATION_STORE) private readonly store: CoordinationStore) {}

    async use(context: EventMiddlewareContext, next: () => Promise<unknown>): Promise<unknown> {
      const storeKey = `lock:${resolveKey(key as MiddlewareKey, context, 'WithoutOverlapping key')}`;
      const token = randomUUID();
      const found = await this.store.acquire(storeKey, token, leaseMs);
      if (!found.isAcquired) {
        context.release(Math.min(releaseAfterMs, Math.max(1, found.remainingMs)));
      }
      return holdLease(this.store, storeKey, token, leaseMs, this.logger, context.signal, next);
    }
  }
  return WithoutOverlappingMiddleware;
}
