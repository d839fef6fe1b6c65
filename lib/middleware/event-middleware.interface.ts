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

/** What a middleware (and a listener, as its second argument) is given about one call. */
export interface EventMiddlewareContext<T = unknown> {
  /** The envelope being handled. */
  readonly event: EventEnvelope<T>;
  /** The listener about to run. */
  readonly listener: ListenerInfo;
  /** The attempt number, from 1 (always 1 in-process). */
  readonly attempt: number;
  /** The queue name, for a queued listener. */
  readonly queue?: string;
  /** Fires when the attempt times out or the worker shuts down. */
  readonly signal: AbortSignal;
}

/**
 * Code around every listener call, like a Nest interceptor for events. Call `next()` to run the
 * rest of the chain and the listener; not calling it skips the listener.
 */
export interface EventMiddleware {
  use(context: EventMiddlewareContext, next: () => Promise<unknown>): unknown;
}

/** A middleware given by class (a Nest provider, resolved with DI) or as an instance. */
export type EventMiddlewareRef = Type<EventMiddleware> | EventMiddleware;
