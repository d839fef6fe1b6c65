import { Logger, type Provider } from '@nestjs/common';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { AggregateRepository } from './aggregate.repository.js';
import { EVENT_RECORDER } from './event-store.constants.js';
import { EventStore } from './event-store.js';
import { EventRecorder } from './event.recorder.js';
import { EventReplayer } from './event.replayer.js';
import { MemoryEventStore } from './memory.event-store.js';
import { PostgresEventStore } from './postgres/postgres.event-store.js';
import { loadPg } from './postgres/pg.driver.js';

/** The event store's providers for `EventsModule`: the store, the bus recorder, replay, aggregates. */
export const eventStoreProviders: Provider[] = [
  {
    provide: EventStore,
    useFactory: async (
      options: ResolvedEventsOptions,
      registry: ListenerRegistry,
    ): Promise<EventStore> => {
      const shared = {
        pageSize: options.store.pageSize,
        maxPayloadBytes: options.maxPayloadBytes,
        eventClass: (name: string) => registry.eventClass(name),
      };
      // PostgreSQL is connected lazily, on the first operation; but a missing `pg` package fails
      // the boot (naming it) rather than the first append in production.
      if (options.store.postgres && options.store.postgres.pool === undefined) await loadPg();
      return options.store.postgres
        ? new PostgresEventStore({ ...options.store.postgres, ...shared })
        : new MemoryEventStore(shared);
    },
    inject: [EVENTS_OPTIONS, ListenerRegistry],
  },
  {
    provide: EVENT_RECORDER,
    useFactory: (options: ResolvedEventsOptions, store: EventStore): EventRecorder | null => {
      if (options.store.record === false) return null;
      if (options.redis !== undefined && store instanceof MemoryEventStore) {
        new Logger('EventStore').warn(
          'store.record is on with the Redis transport but the in-memory event store: every ' +
            'process records only its own emits, and the history is lost at restart. ' +
            'Configure store.postgres for one shared, durable history.',
        );
      }
      return new EventRecorder(store, options);
    },
    inject: [EVENTS_OPTIONS, EventStore],
  },
  EventReplayer,
  AggregateRepository,
];

/** What `EventsModule` exports of the event store. */
export const eventStoreExports = [EventStore, EventReplayer, AggregateRepository];
