/** Metadata key: the `@OnEvent` records of a method (an array, one entry per decorator). */
export const ON_EVENT_METADATA = 'nestjs-events:on-event';
/** Metadata key: the `@ShouldQueue` options of a method or a class. */
export const SHOULD_QUEUE_METADATA = 'nestjs-events:should-queue';
/** Metadata key: the middleware listed by `@UseEventMiddleware` on a class or a method. */
export const USE_EVENT_MIDDLEWARE_METADATA = 'nestjs-events:use-event-middleware';
/** Metadata key: the explicit name given to an event class by `@EventName`. */
export const EVENT_NAME_METADATA = 'nestjs-events:event-name';

/** DI token of the resolved module options (`ResolvedEventsOptions`). */
export const EVENTS_OPTIONS = Symbol('EVENTS_OPTIONS');
/** DI token of the queue transport picked for this application. */
export const QUEUE_TRANSPORT = Symbol('QUEUE_TRANSPORT');
/** DI token of the shared Redis connection (present only when `redis` is configured). */
export const REDIS_CONNECTION = Symbol('REDIS_CONNECTION');
