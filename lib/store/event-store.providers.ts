import type { Provider } from '@nestjs/common';
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

/** The event store's providers for `EventsModule`: the store, the bus recorder, replay, aggregates. */
export const eventStoreProviders: Provider[] = [
  {
    provide: EventStore,
    useFactory: (options: ResolvedEventsOptions, registry: ListenerRegistry): EventStore => {
      const shared = {
        pageSize: options.store.pageSize,
        maxPayloadBytes: options.maxPayloadBytes,
        eventClass: (name: string) => registry.eventClass(name),
      };
      // PostgreSQL is connected lazily (and `pg` loaded) on the first operation, not at boot.
      return options.store.postgres
        ? new PostgresEventStore({ ...options.store.postgres, ...shared })
        : new MemoryEventStore(shared);
    },
    inject: [EVENTS_OPTIONS, ListenerRegistry],
  },
  {
    provide: EVENT_RECORDER,
    useFactory: (options: ResolvedEventsOptions, store: EventStore): EventRecorder | null =>
      options.store.record === false ? null : new EventRecorder(store, options),
    inject: [EVENTS_OPTIONS, EventStore],
  },
  EventReplayer,
  AggregateRepository,
];

/** What `EventsModule` exports of the event store. */
export const eventStoreExports = [EventStore, EventReplayer, AggregateRepository];
