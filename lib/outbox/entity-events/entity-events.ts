import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { EventBus } from '../../bus/event-bus.js';
import type { UntypedEmits } from '../../bus/around.js';
import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import { OutboxNotConfiguredError } from '../../errors/outbox-not-configured.error.js';
import { EventOutbox } from '../event-outbox.js';
import { EntityEventEmitter, type EntityEventsOptions } from './entity-event.emitter.js';
import { isMikroOrm, mikroOrmSubscriber } from './mikro-orm.subscriber.js';
import { extendPrismaClient, isPrismaClient, type PrismaExtendable } from './prisma.extension.js';
import { isTypeOrmDataSource, typeOrmSubscriber } from './typeorm.subscriber.js';

/**
 * Entity lifecycle events (opt-in, with the outbox): once attached to an ORM, every insert,
 * update and delete of an entity through it emits `<entity>.saving` / `<entity>.removing` before
 * the write (in-process, inside the transaction: a listener that throws aborts the write) and
 * `<entity>.saved` / `<entity>.removed` after it, written to the outbox in the same transaction
 * and delivered only once it commits.
 */
@Injectable()
export class EntityEvents implements OnApplicationShutdown {
  /** The ORMs attached, and how to detach each. */
  private readonly attached = new Map<object, () => void>();

  constructor(
    private readonly bus: EventBus,
    private readonly outbox: EventOutbox,
  ) {}

  /**
   * Hooks the entity events into a TypeORM `DataSource` (an entity subscriber) or a `MikroORM`
   * instance (an event subscriber). Attaching one twice changes nothing.
   *
   * @example
   * entityEvents.attach(dataSource); // then @AfterSave(Order) listens to order.saved
   */
  attach(source: object, options: EntityEventsOptions = {}): void {
    if (!this.outbox.isConfigured) throw new OutboxNotConfiguredError('EntityEvents.attach');
    if (typeof source !== 'object' || source === null) {
      throw new InvalidOptionError(
        'EntityEvents.attach source',
        source,
        'a TypeORM DataSource or a MikroORM instance',
      );
    }
    if (this.attached.has(source)) return;
    const emitter = new EntityEventEmitter(this.bus as unknown as UntypedEmits, options);
    const detach = () => {
      emitter.isClosed = true;
    };
    if (isTypeOrmDataSource(source)) {
      const subscriber = typeOrmSubscriber(emitter);
      source.subscribers.push(subscriber);
      this.attached.set(source, () => {
        detach();
        const at = source.subscribers.indexOf(subscriber);
        if (at >= 0) source.subscribers.splice(at, 1);
      });
    } else if (isMikroOrm(source)) {
      source.em.getEventManager().registerSubscriber(mikroOrmSubscriber(emitter));
      this.attached.set(source, detach);
    } else {
      throw new InvalidOptionError(
        'EntityEvents.attach source',
        source,
        'a TypeORM DataSource or a MikroORM instance',
      );
    }
  }

  /**
   * A Prisma client whose `create`, `update`, `upsert` and `delete` emit the entity events (a
   * client extension): use the client it returns. Each such query runs in an interactive
   * transaction, the `$transaction` it is called in or one of its own.
   *
   * @example
   * const db = entityEvents.extendPrisma(prisma); // then db.order.create(...) emits order.saved
   */
  extendPrisma<T extends PrismaExtendable>(prisma: T, options: EntityEventsOptions = {}): T {
    if (!this.outbox.isConfigured) throw new OutboxNotConfiguredError('EntityEvents.extendPrisma');
    if (typeof prisma !== 'object' || prisma === null || !isPrismaClient(prisma)) {
      throw new InvalidOptionError('EntityEvents.extendPrisma client', prisma, 'a PrismaClient');
    }
    const emitter = new EntityEventEmitter(this.bus as unknown as UntypedEmits, options);
    this.attached.set(emitter, () => {
      emitter.isClosed = true;
    });
    return extendPrismaClient(prisma, emitter);
  }

  /** The ORMs outlive the app: their hooks stop emitting. */
  onApplicationShutdown(): void {
    for (const detach of this.attached.values()) detach();
    this.attached.clear();
  }
}
