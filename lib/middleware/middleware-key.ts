import type { Logger } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { CoordinationStore } from './coordination.store.js';
import type { EventMiddlewareContext } from './event-middleware.interface.js';

/** What a key function is given: the middleware context, its `event` typed `E`. */
export type MiddlewareKeyContext<E = EventEnvelope> = Omit<EventMiddlewareContext, 'event'> & {
  readonly event: E;
};

/**
 * A key of a built-in middleware: fixed, or computed from the call (`(ctx) => ctx.event.data.id`).
 * `E` is the envelope the function sees: with the event map, give the middleware the listener's
 * events (`Idempotent<'order.created'>({ key: (ctx) => ctx.event.data.id, ttlMs })`).
 */
export type MiddlewareKey<E = EventEnvelope> =
  string | ((context: MiddlewareKeyContext<E>) => string);

/** Throws unless `key` is a non-empty string or a function. */
export function assertMiddlewareKey(option: string, key: unknown): void {
  if ((typeof key === 'string' && key.length > 0) || typeof key === 'function') return;
  throw new InvalidOptionError(option, key, 'a non-empty string or a function (context) => string');
}

/** Throws unless `value` is an integer >= 1 (a duration or a count of a middleware). */
export function assertPositive(option: string, value: unknown): asserts value is number {
  assertInteger(option, value, 1);
}

/** The key for this call; a key function that returns no string fails the attempt clearly. */
export function resolveKey(
  key: MiddlewareKey,
  context: EventMiddlewareContext,
  option: string,
): string {
  const value = typeof key === 'function' ? key(context) : key;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(
      `${option} (listener ${context.listener.id})`,
      value,
      'a key function returning a non-empty string',
    );
  }
  return value;
}

/**
 * Keeps a lease alive while `work` runs (renewed every third of `leaseMs`, so only a dead or
 * frozen worker lets it expire), then releases it. Losing the lease is logged, not thrown: the
 * work has started and aborting it half-way would be worse than a possible overlap.
 *
 * The lease ends with the attempt: when `signal` (the attempt's `context.signal`) aborts (timeout,
 * shutdown, lost ownership), renewal stops, the key is released and this rejects with the abort
 * reason, even if `work` never settles; otherwise a hung handler would hold the key forever.
 */
export async function holdLease<R>(
  store: CoordinationStore,
  key: string,
  token: string,
  leaseMs: number,
  logger: Logger,
  signal: AbortSignal,
  work: () => Promise<R>,
  keepAfter?: (result: R) => Promise<void>,
): Promise<R> {
  let isLost = false;
  let releasing: Promise<void> | undefined;
  const release = (): Promise<void> =>
    (releasing ??= store
      .release(key, token)
      .catch((e: unknown) => logger.warn(`Releasing lease "${key}" failed: ${String(e)}`)));
  const timer = setInterval(
    () => {
      store.extend(key, token, leaseMs).then(
        (isHeld) => {
          if (!isHeld && !isLost) {
            isLost = true;
            logger.warn(`Lease "${key}" expired while its holder was still running`);
          }
        },
        (error: unknown) => logger.warn(`Renewing lease "${key}" failed: ${String(error)}`),
      );
    },
    Math.max(1, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = (): void => {
      clearInterval(timer);
      void release();
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  let result: R;
  try {
    result = await Promise.race([work(), aborted]);
  } catch (error) {
    clearInterval(timer);
    await release();
    throw error;
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
  clearInterval(timer);
  if (keepAfter) await keepAfter(result);
  else await release();
  return result;
}
