import type { UntypedEmits } from '../../bus/around.js';
import {
  defaultEntityEventName,
  entityNameOf,
  type EntityAction,
  type EntityRef,
} from '../../event/entity-event-name.js';
import { outsideTransaction } from '../outbox-transaction.js';

/** Options of `EntityEvents.attach`. */
export interface EntityEventsOptions {
  /**
   * The event name of an entity's action. `@BeforeSave` and the other decorators listen to the
   * default names: with your own, listen with `@OnEvent`.
   * @default `order.saving`, `order.saved`, `order.removing`, `order.removed` for `Order`
   */
  readonly eventName?: (entity: string, action: EntityAction) => string;
  /** The entities (classes or names) whose writes emit events. @default every entity */
  readonly entities?: readonly EntityRef[];
}

/**
 * What the ORM hooks call: `before` events run their in-process listeners at once, inside the
 * ORM's transaction (a throw aborts the write); `after` events are written to the outbox through
 * the ORM's transaction and delivered only once it commits.
 */
export class EntityEventEmitter {
  private readonly eventName: (entity: string, action: EntityAction) => string;
  private readonly entities: ReadonlySet<string> | undefined;
  /** Set when the app shuts down: an ORM may keep the hooks (MikroORM cannot remove them). */
  isClosed = false;

  constructor(
    private readonly bus: UntypedEmits,
    options: EntityEventsOptions,
  ) {
    this.eventName = options.eventName ?? defaultEntityEventName;
    this.entities = options.entities && new Set(options.entities.map(entityNameOf));
  }

  handles(entity: string): boolean {
    return !this.isClosed && (this.entities === undefined || this.entities.has(entity));
  }

  /** `saving` / `removing`: the live entity, in-process only (a listener may change it). */
  async before(entity: string, action: 'saving' | 'removing', live: object): Promise<void> {
    if (!this.handles(entity)) return;
    // Outside the outbox transaction of the async context: a `before` event is no row.
    await outsideTransaction(() =>
      this.bus.emitAsync(this.eventName(entity, action), live, { inProcessOnly: true }),
    );
  }

  /**
   * `saved` / `removed`: the entity's columns as plain data, written through `transaction` (the
   * ORM's handle of the write's transaction), ordered per entity (its id as `aggregateId`).
   */
  async after(
    entity: string,
    action: 'saved' | 'removed',
    data: Readonly<Record<string, unknown>>,
    id: string | undefined,
    transaction: object,
  ): Promise<void> {
    if (!this.handles(entity)) return;
    await this.bus.emit(this.eventName(entity, action), data, {
      transaction,
      ...(id === undefined ? {} : { metadata: { aggregateId: `${entity}:${id}` } }),
    });
  }
}

/** An id (or the parts of a composite one) as one string; `undefined` when it has none yet. */
export function idOf(values: readonly unknown[]): string | undefined {
  if (values.length === 0 || values.some((v) => v === undefined || v === null)) return undefined;
  return values.map(String).join(':');
}
