import { USE_EVENT_MIDDLEWARE_METADATA } from '../events.constants.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { EventMiddlewareRef } from '../middleware/event-middleware.interface.js';

/**
 * Runs middleware around the listeners of a class, or around one listener method. Stackable;
 * order: global (`forRoot({ middleware })`), then class, then method.
 */
export function UseEventMiddleware(
  ...middleware: EventMiddlewareRef[]
): ClassDecorator & MethodDecorator {
  for (const m of middleware) {
    if (
      m === null ||
      (typeof m !== 'function' && (typeof m !== 'object' || typeof m.use !== 'function'))
    ) {
      throw new InvalidOptionError(
        '@UseEventMiddleware',
        m,
        'a middleware class or an object with use()',
      );
    }
  }
  return ((target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor ? descriptor.value : target) as object;
    const existing = (Reflect.getOwnMetadata(USE_EVENT_MIDDLEWARE_METADATA, holder) ??
      []) as EventMiddlewareRef[];
    Reflect.defineMetadata(USE_EVENT_MIDDLEWARE_METADATA, [...existing, ...middleware], holder);
  }) as ClassDecorator & MethodDecorator;
}
