import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { EventEnvelope } from '../event/event-envelope.js';
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

/** Options of `Idempotent`. */
export interface IdempotentOptions<E = EventEnvelope> {
  /**
   * What "the same work" means; always scoped to the listener.
   * @default the event id
   */
  key?: MiddlewareKey<E>;
  /** How long (ms) a completed key is remembered: duplicates within it are skipped. */
  ttlMs: number;
  /**
   * How long (ms) a running attempt's claim lasts without renewal. It is renewed while the
   * listener runs, so it only expires when a worker dies; a duplicate that meets a live claim is
   * released back (queued) or waits (in-process) and then finds the key done.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * How long (ms) a duplicate that met a running claim waits before it looks again.
   * @default 1000 (or the claim's remaining time, when shorter)
   */
  releaseAfterMs?: number;
}

const DONE = 'done';

/**
 * Runs a listener at most once per event id (or custom key) within `ttlMs`, even when its job is
 * delivered twice (at-least-once delivery, a reclaim after a worker stalled, the same event
 * emitted twice with a custom key). A completed key makes later attempts succeed without running
 * the listener; a failed attempt frees the key, so retries still run. Shared by every worker
 * (Redis with the Redis transport, memory otherwise).
 *
 * @example
 * @UseEventMiddleware(Idempotent({ ttlMs: 24 * 3600_000 }))
 * // With the event map, name the listener's events to type the key function:
 * @UseEventMiddleware(
 *   Idempotent<'payment.received'>({ key: (ctx) => ctx.event.data.paymentId, ttlMs: 3600_000 }),
 * )
 */
export function Idempotent<const S extends ListenerSelector | readonly ListenerSelector[] = never>(
  options: IdempotentOptions<SelectedEnvelope<S>>,
): Type<EventMiddleware> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('Idempotent options', options, '{ ttlMs, key?, leaseMs? }');
  }
  const { ttlMs, leaseMs = 30_000, releaseAfterMs = 1000 } = options;
  const key = options.key as MiddlewareKey | undefined;
  assertPositive('Idempotent ttlMs', ttlMs);
  assertPositive('Idempotent leaseMs', leaseMs);
  assertPositive('Idempotent releaseAfterMs', releaseAfterMs);
  if (key !== undefined) assertMiddlewareKey('Idempotent key', key);

  @Injectable()
  class IdempotentMiddleware implements EventMiddleware {
    private readonly logger = new Logger('Idempotent');

    constructor(@Inject(COORDINATION_STORE) private readonly store: CoordinationStore) {}

    async use(context: EventMiddlewareContext, next: () => Promise<unknown>): Promise<unknown> {
      const name =
        key === undefined ? context.event.id : resolveKey(key, context, 'Idempotent key');
      const storeKey = `idempotent:${context.listener.id}:${name}`;
      const token = randomUUID();
      const found = await this.store.acquire(storeKey, token, leaseMs);
      if (!found.isAcquired) {
        if (found.holder === DONE) return undefined;
        // Another delivery is running it now: look again later; if that one fails, this one runs.
        context.release(Math.min(releaseAfterMs, Math.max(1, found.remainingMs)));
      }
      return holdLease(
        this.store,
        storeKey,
        token,
        leaseMs,
        this.logger,
        context.signal,
        next,
        async () => {
          try {
            await this.store.set(storeKey, DONE, ttlMs);
          } catch (error) {
            // The listener succeeded: failing now would run it again for sure. A duplicate
            // delivery may still find the claim missing and run it: at-least-once, as documented.
            this.logger.warn(`Marking "${storeKey}" done failed: ${String(error)}`);
          }
        },
      );
    }
  }
  return IdempotentMiddleware;
}
