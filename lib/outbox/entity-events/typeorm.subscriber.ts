import { idOf, type EntityEventEmitter } from './entity-event.emitter.js';

// TypeORM is an optional peer, reached only through the DataSource the app hands over: an entity
// subscriber is a plain object with hook methods, typed structurally here, never imported.

interface TypeOrmColumn {
  readonly propertyPath: string;
  getEntityValue(entity: object): unknown;
}

interface TypeOrmEntityEvent {
  readonly entity?: object;
  readonly databaseEntity?: object;
  readonly manager: object;
  readonly metadata: {
    readonly name: string;
    readonly columns: readonly TypeOrmColumn[];
    readonly primaryColumns: readonly TypeOrmColumn[];
  };
}

/** A TypeORM `DataSource` (the subscribers it calls are in `subscribers`). */
export function isTypeOrmDataSource(source: object): source is { subscribers: object[] } {
  const s = source as { subscribers?: unknown; isInitialized?: unknown; manager?: unknown };
  return Array.isArray(s.subscribers) && typeof s.isInitialized === 'boolean' && !!s.manager;
}

/** The entity's columns as plain data (relations left out: they are other entities). */
function columnsOf(event: TypeOrmEntityEvent, entity: object): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const column of event.metadata.columns) {
    data[column.propertyPath] = column.getEntityValue(entity);
  }
  return data;
}

function after(
  emitter: EntityEventEmitter,
  action: 'saved' | 'removed',
  event: TypeOrmEntityEvent,
  removed: WeakMap<object, Record<string, unknown>>,
): Promise<void> | undefined {
  // Updates through a query builder (`repository.update(criteria, ...)`) carry no entity.
  const entity = event.entity ?? event.databaseEntity;
  if (entity === undefined) return undefined;
  // A removed entity has lost its id by now: its columns as they were before the delete.
  const data = removed.get(entity) ?? columnsOf(event, entity);
  const id = idOf(event.metadata.primaryColumns.map((c) => data[c.propertyPath]));
  return emitter.after(event.metadata.name, action, data, id, event.manager);
}

/** An entity subscriber emitting the entity events of every write through the DataSource. */
export function typeOrmSubscriber(emitter: EntityEventEmitter): object {
  const removed = new WeakMap<object, Record<string, unknown>>();
  const before = (action: 'saving' | 'removing', event: TypeOrmEntityEvent) =>
    event.entity === undefined
      ? undefined
      : emitter.before(event.metadata.name, action, event.entity);
  return {
    beforeInsert: (event: TypeOrmEntityEvent) => before('saving', event),
    beforeUpdate: (event: TypeOrmEntityEvent) => before('saving', event),
    async beforeRemove(event: TypeOrmEntityEvent) {
      await before('removing', event);
      if (event.entity !== undefined) removed.set(event.entity, columnsOf(event, event.entity));
    },
    afterInsert: (event: TypeOrmEntityEvent) => after(emitter, 'saved', event, removed),
    afterUpdate: (event: TypeOrmEntityEvent) => after(emitter, 'saved', event, removed),
    afterRemove: (event: TypeOrmEntityEvent) => after(emitter, 'removed', event, removed),
  };
}
