import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerContext, ListenerFn } from '../discovery/listener-definition.js';
import type { EventMiddleware, ListenerInfo } from './event-middleware.interface.js';

/**
 * Wraps a listener in middleware, outermost first. With no middleware the listener itself is
 * returned, so listeners without middleware pay nothing for the feature.
 */
export function composeMiddleware(
  middleware: readonly EventMiddleware[],
  listener: ListenerFn,
  info: ListenerInfo,
): ListenerFn {
  if (middleware.length === 0) return listener;
  return (event: EventEnvelope, context: ListenerContext) => {
    const middlewareContext = {
      event,
      listener: info,
      attempt: context.attempt,
      queue: context.queue,
      signal: context.signal,
    };
    const step = (index: number): Promise<unknown> => {
      if (index === middleware.length) {
        // The listener sees the event as the middleware left it (metadata may have changed).
        return Promise.resolve().then(() => listener(middlewareContext.event, context));
      }
      let called = false;
      return Promise.resolve().then(() =>
        middleware[index].use(middlewareContext, () => {
          if (called) return Promise.reject(new Error('next() called twice by a middleware'));
          called = true;
          return step(index + 1);
        }),
      );
    };
    return step(0);
  };
}
