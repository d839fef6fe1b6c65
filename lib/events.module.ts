import { Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventBus } from './bus/event-bus.js';
import { ListenerExplorer } from './discovery/listener.explorer.js';
import { ListenerMetadataAccessor } from './discovery/listener-metadata.accessor.js';
import { ListenerRegistry } from './discovery/listener.registry.js';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from './events.constants.js';
import {
  ConfigurableModuleClass,
  EVENTS_MODULE_OPTIONS,
  OPTIONS_TYPE,
} from './events.module-definition.js';
import type { DynamicModule } from '@nestjs/common';
import {
  resolveEventsOptions,
  type EventsModuleOptions,
  type ResolvedEventsOptions,
} from './events.options.js';
import { EventQueues } from './queue/event-queues.js';
import { MemoryQueueTransport } from './queue/memory/memory-queue.transport.js';
import { QueueProducer } from './queue/queue.producer.js';
import type { QueueTransport } from './queue/queue-transport.interface.js';
import { Worker } from './queue/worker.js';
import { FlowControl } from './queue/flow/flow.control.js';
import { EventSchemasRegistrar } from './event/event-schemas.registrar.js';
import { EventsServerBinding } from './microservices/events-server.binding.js';
import { eventStoreExports, eventStoreProviders } from './store/event-store.providers.js';
import {
  observabilityExports,
  observabilityProviders,
} from './observability/observability.providers.js';
import { EventFacadeBinding } from './testing/event-facade.binding.js';
import { EventScheduler } from './scheduling/event.scheduler.js';
import { EventVersions } from './scheduling/event-versions.js';
import { UpcasterExplorer } from './scheduling/upcaster.explorer.js';
import { COORDINATION_STORE, type CoordinationStore } from './middleware/coordination.store.js';
import { MemoryCoordinationStore } from './middleware/memory-coordination.store.js';
import { EVENT_TRACER } from './tracing/event-tracer.js';
import { tracingProviders } from './tracing/tracing.providers.js';
import { sagaExports, sagaProviders } from './sagas/sagas.providers.js';
import { EVENTS_CLOCK, systemClock, type EventsClock } from './queue/clock.js';
import { EventOutbox } from './outbox/event-outbox.js';
import { EntityEvents } from './outbox/entity-events/entity-events.js';
// Static on purpose: ioredis is a dependency, and a dynamic import of the library's own modules
// breaks Jest's ESM mode ("request for '@nestjs/common' is not in cache"). Dynamic imports are
// kept for optional peers only (@nestjs/microservices, pg).
import { createRedisQueueTransport } from './queue/redis/redis-queue.transport.js';
import { createRedisCoordinationStore } from './redis/redis-coordination.store.js';

const providers: Provider[] = [
  {
    provide: EVENTS_OPTIONS,
    useFactory: (raw: EventsModuleOptions & { isGlobal?: boolean }) => {
      const { isGlobal: _isGlobal, ...options } = raw ?? {};
      return resolveEventsOptions(options);
    },
    inject: [EVENTS_MODULE_OPTIONS],
  },
  { provide: EVENTS_CLOCK, useValue: systemClock },
  {
    provide: QUEUE_TRANSPORT,
    useFactory: async (
      options: ResolvedEventsOptions,
      clock: EventsClock,
    ): Promise<QueueTransport> => {
      if (options.redis === undefined) {
        return new MemoryQueueTransport({
          drainTimeoutMs: options.worker.shutdownTimeout,
          dedupeWindowMs: options.dedupeWindowMs,
          clock,
        });
      }
      return createRedisQueueTransport(options);
    },
    inject: [EVENTS_OPTIONS, EVENTS_CLOCK],
  },
  {
    // Shared state of the built-in middleware: Redis (connected on first use) when configured.
    provide: COORDINATION_STORE,
    useFactory: async (options: ResolvedEventsOptions): Promise<CoordinationStore> => {
      if (options.redis === undefined) return new MemoryCoordinationStore();
      return createRedisCoordinationStore(options);
    },
    inject: [EVENTS_OPTIONS],
  },
  ListenerMetadataAccessor,
  ListenerRegistry,
  QueueProducer,
  EventBus,
  EventSchemasRegistrar,
  EventFacadeBinding,
  EventVersions,
  UpcasterExplorer,
  ListenerExplorer,
  Worker,
  FlowControl,
  EventsServerBinding,
  EventQueues,
  EventScheduler,
  ...eventStoreProviders,
  ...observabilityProviders,
  ...tracingProviders,
  ...sagaProviders,
  EventOutbox,
  EntityEvents,
];

/**
 * The events module: `@OnEvent` discovery, the `EventBus`, queued listeners and their worker.
 * Global by default (`isGlobal: false` to import it where needed).
 *
 * @example
 * @Module({ imports: [EventsModule.forRoot({ redis: process.env.REDIS_URL })] })
 * export class AppModule {}
 */
@Module({
  imports: [DiscoveryModule],
  providers,
  exports: [
    EventBus,
    EventQueues,
    EVENTS_OPTIONS,
    QUEUE_TRANSPORT,
    COORDINATION_STORE,
    ...eventStoreExports,
    ...observabilityExports,
    EVENT_TRACER,
    ...sagaExports,
    EVENTS_CLOCK,
    EventOutbox,
    EntityEvents,
  ],
})
export class EventsModule extends ConfigurableModuleClass {
  /**
   * The module with these options (all optional: `forRoot()` runs on the embedded transport).
   *
   * @example
   * EventsModule.forRoot({ redis: process.env.REDIS_URL, defaults: { tries: 3 } })
   */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
