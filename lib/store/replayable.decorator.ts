import { REPLAYABLE_METADATA } from './event-store.constants.js';

/**
 * Marks a listener method (or every listener of a class) as safe to replay: a projection or a
 * read model that rebuilds state, not a side effect such as sending an email.
 * `EventReplayer.replay({ to: REPLAYABLE })` delivers to these listeners only.
 *
 * @example
 * @OnEvent('order.*')
 * @Replayable()
 * project(event: EventEnvelope) { ... }
 */
export function Replayable(): ClassDecorator & MethodDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    Reflect.defineMetadata(REPLAYABLE_METADATA, true, descriptor ? descriptor.value : target);
  };
}

/** Whether `@Replayable()` marks the method or its class. */
export function isReplayable(classRef: Function | undefined, method: unknown): boolean {
  return (
    (typeof method === 'function' && Reflect.getMetadata(REPLAYABLE_METADATA, method) === true) ||
    (classRef !== undefined && Reflect.getMetadata(REPLAYABLE_METADATA, classRef) === true)
  );
}
