import { InvalidPatternError } from '../errors/invalid-pattern.error.js';
import {
  defaultEntityEventName,
  entityNameOf,
  type EntityAction,
  type EntityRef,
} from '../event/entity-event-name.js';
import { OnEvent, type OnEventOptions } from './on-event.decorator.js';

function entityEvent(decorator: string, entity: EntityRef, action: EntityAction, options: object) {
  const name =
    typeof entity === 'function' || typeof entity === 'string' ? entityNameOf(entity) : '';
  if (name.length === 0) {
    throw new InvalidPatternError(entity, 'expected an entity class or its name', `@${decorator}`);
  }
  // A derived name, outside the event map.
  return OnEvent(defaultEntityEventName(name, action) as never, options as OnEventOptions<unknown>);
}

/**
 * Listens to `<entity>.saving`, emitted by `EntityEvents` before the ORM inserts or updates an
 * entity: in-process, at once, inside the ORM's transaction, with the entity itself as `data`
 * (changes to it are written). A listener that throws aborts the write. Sugar for
 * `@OnEvent('order.saving')` (the default names of `EntityEvents.attach`).
 *
 * @example
 * @BeforeSave(Order)
 * check(event: EventEnvelope<Order>) { if (event.data.total < 0) throw new Error('negative total'); }
 */
export function BeforeSave(entity: EntityRef, options: OnEventOptions = {}): MethodDecorator {
  return entityEvent('BeforeSave', entity, 'saving', options);
}

/**
 * Listens to `<entity>.saved`, written to the outbox in the transaction that inserted or updated
 * the entity and delivered only once it commits; `data` is the entity's columns as plain data.
 * May be combined with `@ShouldQueue`.
 */
export function AfterSave(entity: EntityRef, options: OnEventOptions = {}): MethodDecorator {
  return entityEvent('AfterSave', entity, 'saved', options);
}

/** Listens to `<entity>.removing`, as `@BeforeSave` before a delete: a throw aborts it. */
export function BeforeRemove(entity: EntityRef, options: OnEventOptions = {}): MethodDecorator {
  return entityEvent('BeforeRemove', entity, 'removing', options);
}

/** Listens to `<entity>.removed`, as `@AfterSave` once a delete committed. */
export function AfterRemove(entity: EntityRef, options: OnEventOptions = {}): MethodDecorator {
  return entityEvent('AfterRemove', entity, 'removed', options);
}
