/** What happened to an entity: before and after it is written, before and after it is removed. */
export type EntityAction = 'saving' | 'saved' | 'removing' | 'removed';

/** An entity class, or the name of an entity the ORM knows by name only (an `EntitySchema`). */
export type EntityRef = string | (abstract new (...args: never[]) => object);

/** The name of an entity, as the ORM's metadata gives it (`Order` for `class Order`). */
export function entityNameOf(entity: EntityRef): string {
  return typeof entity === 'string' ? entity : entity.name;
}

/**
 * The default name of an entity event: the entity's name with a lower-case first letter, then the
 * action (`Order` -> `order.saved`, `OrderLine` -> `orderLine.removing`).
 */
export function defaultEntityEventName(entity: string, action: EntityAction): string {
  return `${entity.charAt(0).toLowerCase()}${entity.slice(1)}.${action}`;
}
