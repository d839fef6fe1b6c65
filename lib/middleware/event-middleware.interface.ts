import type { Type } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';

/** Who is being called: enough for logs, metrics and per-listener decisions. */
export interface ListenerInfo {
  /** Stable id: `Class.method`, or the explicit id. */
  readonly id: string;
  /** The provider class name, when the listener is a provider method. */
  readonly className?: string;
  /** The method name, when the listener is a provider method. */
  readonly methodName?: string;
  /** Whether the listener runs from a queue. */
  readonly isQueued: boolean;
}

/** What a middleware is given about one listener call. */
export interface EventMiddlewareContext<T = unknown> {
  /** The envelope being handled (this call's own copy). */
  readonly event: EventEnvelope<T>;
  /**
   * The metadata of this call's copy of the envelope, writable: keys set here are seen by the
   * listener (`event.metadata`) and inherited by the events it emits, never by the other
   * listeners of the same event.
   */
  readonly metadata: Record<string, string>;
  /** The listener about to run. */
  readonly listener: ListenerInfo;
  /** The attempt number, from 1 (always 1 in-process). */
  readonly attempt: number;
  /** The queue name, for a queued listener. */
  readonly queue?: string;
  /** Fires when the attempt times out or the worker shuts down. */
  readonly signal: AbortSignal;
  /**
   * Gives this attempt back without running the listener and without counting a failure: a
   * queued job goes back to its queue and runs again after `delayMs` (its attempt number is
   * unchanged); an in-process call waits `delayMs` and runs the chain again. It throws a
   * `ReleaseJobSignal`, so nothing after it runs; middleware further out must let it through.
   *
   * @example
   * if (await this.quota.isExhausted()) context.release(60_000);
   * @throws InvalidOptionError unless `delayMs` is an integer >= 0.
   */
  release(delayMs: number): never;
}

/**
 * Code around every listener call, like a Nest interceptor for events. Call `next()` to run the
 * rest of the chain and the listener; not calling it skips the listener (a queued job is then
 * acknowledged as done). A middleware that throws fails the attempt like a listener error.
 *
 * @example
 * @Injectable()
 * export class TenantGuard implements EventMiddleware {
 *   constructor(private readonly tenants: TenantService) {}
 *   async use(context: EventMiddlewareContext, next: () => Promise<unknown>) {
 *     if (!(await this.tenants.isActive(context.event.metadata.tenantId))) return; // skipped
 *     return next();
 *   }
 * }
 */
export interface EventMiddleware {
  use(context: EventMiddlewareContext, next: () => Promise<unknown>): unknown;
}

/** A middleware given by class (a Nest provider, resolved with DI) or as an instance. */
export type EventMiddlewareRef = Type<EventMiddleware> | EventMiddleware;
