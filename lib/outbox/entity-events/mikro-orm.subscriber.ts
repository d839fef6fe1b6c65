import { idOf, type EntityEventEmitter } from './entity-event.emitter.js';

// MikroORM is an optional peer, reached only through the MikroORM instance the app hands over:
// an event subscriber is a plain object with hook methods, typed structurally here, never imported.

interface MikroOrmProperty {
  readonly name: string;
  /** `scalar` for a column of the entity's own (not a relation). */
  readonly kind: string;
  readonly persist?: boolean;
}

interface MikroOrmEventArgs {
  readonly entity: Record<string, unknown>;
  readonly em: object;
  readonly meta: {
    readonly className: string;
    readonly props: readonly MikroOrmProperty[];
    readonly primaryKeys: readonly string[];
  };
}

/** A `MikroORM` instance, whose event manager takes subscribers. */
export function isMikroOrm(
  source: object,
): source is { em: { getEventManager(): { registerSubscriber(s: object): void } } } {
  const s = source as { em?: { getEventManager?: unknown }; getMetadata?: unknown };
  return typeof s.getMetadata === 'function' && typeof s.em?.getEventManager === 'function';
}

function after(
  emitter: EntityEventEmitter,
  action: 'saved' | 'removed',
  { entity, em, meta }: MikroOrmEventArgs,
): Promise<void> {
  const data: Record<string, unknown> = {};
  for (const prop of meta.props) {
    if (prop.kind === 'scalar' && prop.persist !== false) data[prop.name] = entity[prop.name];
  }
  const id = idOf(meta.primaryKeys.map((key) => entity[key]));
  // `em` carries the flush's transaction while its hooks run.
  return emitter.after(meta.className, action, data, id, em);
}

/** An event subscriber emitting the entity events of every flush of the ORM. */
export function mikroOrmSubscriber(emitter: EntityEventEmitter): object {
  const before = (action: 'saving' | 'removing', args: MikroOrmEventArgs) =>
    emitter.before(args.meta.className, action, args.entity);
  return {
    beforeCreate: (args: MikroOrmEventArgs) => before('saving', args),
    beforeUpdate: (args: MikroOrmEventArgs) => before('saving', args),
    beforeDelete: (args: MikroOrmEventArgs) => before('removing', args),
    afterCreate: (args: MikroOrmEventArgs) => after(emitter, 'saved', args),
    afterUpdate: (args: MikroOrmEventArgs) => after(emitter, 'saved', args),
    afterDelete: (args: MikroOrmEventArgs) => after(emitter, 'removed', args),
  };
}
