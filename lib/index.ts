export { EventsModule } from './events.module.js';
export { EVENTS_MODULE_OPTIONS } from './events.module-definition.js';
export {
  resolveEventsOptions,
  type EventsModuleOptions,
  type ResolvedEventsOptions,
  type QueueDefaults,
  type WorkerOptions,
} from './events.options.js';
export { EVENTS_OPTIONS, QUEUE_TRANSPORT } from './events.constants.js';

export type { EventEnvelope } from './event/event-envelope.js';
export type {
  EventMap,
  EventInputMap,
  EmitPayload,
  EventTypeOptions,
  TypedEventName,
  EventNamePattern,
  EventPayload,
  EnvelopeFor,
  ListenerEnvelope,
  SelectedEnvelope,
  EventPatternTypes,
  MappedEventName,
  IsTypedEvents,
  PatternMatches,
  NamesMatching,
} from './event/event-map.js';
export { EventContext, type EventContextState } from './event/event-context.js';
export type { EventClass } from './event/event-name.js';

export {
  OnEvent,
  type OnEventOptions,
  type EventSelector,
} from './decorators/on-event.decorator.js';
export {
  ShouldQueue,
  type ShouldQueueOptions,
  type QueueFailureHook,
  type ShouldQueueDecorator,
  type InferredShouldQueueDecorator,
  type HookEventOf,
  type HookThisOf,
} from './decorators/should-queue.decorator.js';
export type {
  CancelOnOptions,
  DebounceOptions,
  SingletonOptions,
} from './queue/flow/flow-options.js';
export type { FlowSummary, GroupSummary } from './queue/flow/flow-summary.js';
export type { BatchOptions } from './queue/flow/batch-options.js';
export { UseEventMiddleware } from './decorators/use-event-middleware.decorator.js';
export { EventName } from './decorators/event-name.decorator.js';

export {
  EventBus,
  type EmitOptions,
  type EmitManyItem,
  type DynamicListener,
  type ListenerSummary,
} from './bus/event-bus.js';
export type { ListenerContext } from './discovery/listener-definition.js';

export type {
  EventMiddleware,
  EventMiddlewareContext,
  EventMiddlewareRef,
  ListenerInfo,
} from './middleware/event-middleware.interface.js';
export { ReleaseJobSignal, isReleaseJobSignal } from './middleware/release-job.signal.js';
export { Throttle } from './middleware/throttle.middleware.js';
export { Timeout } from './middleware/timeout.middleware.js';
export { Idempotent, type IdempotentOptions } from './middleware/idempotent.middleware.js';
export {
  WithoutOverlapping,
  type WithoutOverlappingOptions,
} from './middleware/without-overlapping.middleware.js';
export { Logging, type AttemptOutcome } from './middleware/logging.middleware.js';
export type { MiddlewareKey, MiddlewareKeyContext } from './middleware/middleware-key.js';
export {
  COORDINATION_STORE,
  type CoordinationStore,
  type LeaseResult,
} from './middleware/coordination.store.js';
export { MemoryCoordinationStore } from './middleware/memory-coordination.store.js';
export type { EventValidator, EventValidationResult } from './middleware/event-validators.js';
export {
  isStandardSchema,
  type EventSchema,
  type EventMapOf,
  type EventInputMapOf,
  type SchemaOutput,
} from './event/event-schema.js';
export { ValidateEvent } from './decorators/validate-event.decorator.js';
export {
  Before,
  After,
  Failed,
  type AfterEventData,
  type FailedEventData,
} from './decorators/lifecycle.decorator.js';

export {
  EventFacade,
  type FacadeApplication,
  type EventClassRef,
  type EnvelopePredicate,
  type TypedEnvelopePredicate,
} from './testing/event.facade.js';

export { EventQueues, type DrainOptions } from './queue/event-queues.js';
export { EventsServer, type EventPatternQueueOptions } from './microservices/events.server.js';
export { type EventsServerOptions } from './microservices/events-server.options.js';
export { LATE_LISTENER_WINDOW_MS } from './microservices/inbound.constants.js';
export { EventsClient, type EventsClientOptions } from './microservices/events.client.js';
export { EventsRpcContext } from './microservices/events-rpc.context.js';
export type { BackoffOption, ExponentialBackoff } from './queue/backoff.js';
export type { QueueCounts } from './queue/queue-job.js';
export type { DeadJob } from './queue/dead-job.js';
export type { FoundJob, LiveJobState, QueuedJob } from './queue/queued-job.js';

export { EventsError } from './errors/events.error.js';
export { InvalidEventNameError } from './errors/invalid-event-name.error.js';
export { InvalidPatternError } from './errors/invalid-pattern.error.js';
export { InvalidOptionError } from './errors/invalid-option.error.js';
export { InvalidGroupError } from './errors/invalid-group.error.js';
export type { GroupOptions, GroupRateLimit, GroupSelector } from './queue/flow/group-options.js';
export type { QueueGroup } from './queue/flow/queue-group.js';
export { InvalidTagsError } from './errors/invalid-tags.error.js';
export {
  EventsServerMismatchError,
  type EventsServerDifference,
} from './errors/events-server-mismatch.error.js';
export { DuplicateListenerError } from './errors/duplicate-listener.error.js';
export { UnsupportedListenerError } from './errors/unsupported-scope.error.js';
export { ListenersFailedError, type ListenerFailure } from './errors/listeners-failed.error.js';
export { UnserializablePayloadError, PayloadTooLargeError } from './errors/payload.error.js';
export { UnrecoverableError } from './errors/unrecoverable.error.js';
export { JobTimeoutError } from './errors/job-timeout.error.js';
export { TransportError, StaleJobError } from './errors/transport.error.js';
export { SettleOutcomeUnknownError } from './errors/settle-outcome-unknown.error.js';
export { EmitOutcomeUnknownError } from './errors/emit-outcome-unknown.error.js';
export { ReplicationTimeoutError } from './errors/replication-timeout.error.js';
export { LostOwnershipError } from './errors/lost-ownership.error.js';
export { JobCancelledError } from './errors/job-cancelled.error.js';
export { BatchItemsFailedError, type FailedBatchItem } from './errors/batch-items-failed.error.js';
export { UnsupportedRequestError } from './errors/unsupported-request.error.js';
export { MissingPeerDependencyError } from './errors/missing-peer.error.js';
export { EventAssertionError } from './errors/event-assertion.error.js';
export { EventValidationError, type EventViolation } from './errors/event-validation.error.js';
export {
  EventFacadeUsageError,
  type EventFacadeUsageReason,
} from './errors/event-facade-usage.error.js';

export { EventStore, type EventStoreBaseOptions } from './store/event-store.js';
export { MemoryEventStore } from './store/memory.event-store.js';
export {
  PostgresEventStore,
  type PostgresEventStoreOptions,
  type PostgresPool,
} from './store/postgres/postgres.event-store.js';
export { eventStoreMigrationSql } from './store/postgres/postgres-schema.js';
export {
  ExpectedVersion,
  type NewEvent,
  type MappedNewEvent,
  type AppendableEvent,
  type StoredEventFor,
  type StoredEvent,
  type AppendOptions,
  type AppendResult,
  type ReadStreamOptions,
  type ReadAllOptions,
  type TimeBound,
  type SubscribeOptions,
  type SubscriptionHandler,
  type EventSubscription,
} from './store/event-store.types.js';
export { WrongExpectedVersionError } from './errors/wrong-expected-version.error.js';
export { InvalidStreamIdError } from './errors/invalid-stream-id.error.js';
export { EventStoreError } from './errors/event-store.error.js';
export { ReplayFailedError } from './errors/replay-failed.error.js';
export type { EventStoreOptions, PostgresConnectionOptions } from './store/event-store.options.js';
export type { ReplicationOptions } from './redis/redis-replication.options.js';
export {
  EventReplayer,
  REPLAYABLE,
  type ReplayTarget,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayResult,
} from './store/event.replayer.js';
export { Replayable } from './store/replayable.decorator.js';
export { Aggregate, type AggregateAppliers, type AggregateEvent } from './store/aggregate.js';
export { AggregateRepository } from './store/aggregate.repository.js';
export { MalformedJobError } from './errors/malformed-job.error.js';
export { UnknownQueueError } from './errors/unknown-queue.error.js';
export { QueueInUseError } from './errors/queue-in-use.error.js';
export { DrainTimeoutError } from './errors/drain-timeout.error.js';
export { EventsExceptionFilter, toHttpException } from './http/events-exception.filter.js';

// Transactional outbox (PostgreSQL): EventOutbox, its options, migration and errors.
export { EventOutbox } from './outbox/event-outbox.js';
// Entity lifecycle events through the outbox (TypeORM, MikroORM).
export { EntityEvents } from './outbox/entity-events/entity-events.js';
export type { EntityEventsOptions } from './outbox/entity-events/entity-event.emitter.js';
export type { EntityAction, EntityRef } from './event/entity-event-name.js';
export {
  BeforeSave,
  AfterSave,
  BeforeRemove,
  AfterRemove,
} from './decorators/entity-event.decorator.js';
export type { OutboxOptions, OutboxPool } from './outbox/outbox.options.js';
export type { OutboxClient } from './outbox/transaction-clients.js';
export { OUTBOX_MIGRATION_SQL, outboxMigrationSql } from './outbox/outbox-schema.js';
export { OutboxError } from './errors/outbox.error.js';
export { OutboxNotConfiguredError } from './errors/outbox-not-configured.error.js';
export { InvalidTransactionError } from './errors/invalid-transaction.error.js';
export { TransactionRolledBackError } from './errors/transaction-rolled-back.error.js';
// Observability: metrics (EventMetrics, @Measure), backlog monitor, Prometheus, health
export { EventMetrics, type QueueReading } from './observability/event-metrics.js';
export { Measure } from './observability/measure.decorator.js';
export type {
  MetricsSnapshot,
  EventNameMetrics,
  ListenerMetrics,
  MeasureMetrics,
  OutcomeCounts,
} from './observability/metrics-snapshot.js';
export type { DurationSummary } from './observability/duration-histogram.js';
export type { MetricsOptions, PrometheusOptions } from './observability/metrics.options.js';
export type { QueueMinute } from './queue/queue-history.js';
export { QueueBusy, QueueRecovered, type QueueMeasure } from './observability/queue.events.js';
export type { MonitorOptions, QueueThresholds } from './observability/queue-monitor.options.js';
export {
  EventsHealthIndicator,
  type EventsHealthOptions,
  type EventsHealthDetails,
} from './observability/events-health.indicator.js';

// Scheduled events, conditional emits (issue #21)
export { InvalidScheduleError } from './errors/invalid-schedule.error.js';
export type { EmitCondition, ConditionalEmit, ScheduleEmit } from './bus/emit-condition.js';
export {
  SCHEDULE_ID_KEY,
  SCHEDULED_FOR_KEY,
  type MisfirePolicy,
  type ScheduleDeclaration,
  type ScheduleOptions,
  type ScheduleRule,
  type ScheduleSummary,
} from './scheduling/schedule.types.js';
export { nextOccurrence } from './scheduling/occurrences.js';
export type { ScheduleStore } from './scheduling/schedule-store.interface.js';
export { Upcaster } from './scheduling/upcaster.decorator.js';
export { UpcasterChainError } from './errors/upcaster-chain.error.js';
export { UpcastFailedError } from './errors/upcast-failed.error.js';
// Tracing, correlation from HTTP and logging options (observability, issue #16)
export type { TracingOptions } from './tracing/tracing.options.js';
export type { CorrelationOptions } from './http/correlation.options.js';
export { EventCorrelationInterceptor } from './http/event-correlation.interceptor.js';
export type { LoggingOptions } from './middleware/logging.options.js';
// Sagas: reactive (@Saga, ofEvent) and orchestrated (@OrchestratedSaga, @SagaStep, SagaManager)
export {
  Saga,
  type SagaOptions,
  type SagaFunction,
  type SagaOutput,
  type SagaErrorHook,
} from './sagas/saga.decorator.js';
export { ofEvent } from './sagas/of-event.js';
export {
  OrchestratedSaga,
  SagaStep,
  type OrchestratedSagaOptions,
  type SagaStepOptions,
} from './sagas/orchestrated-saga.decorator.js';
export { SagaManager } from './sagas/saga.manager.js';
export type {
  SagaStatus,
  SagaStepContext,
  SagaStepRecord,
  SagaInfo,
  SagaOutcome,
} from './sagas/saga-definition.js';
export type { SagasOptions } from './sagas/sagas.options.js';
export { SagaDefinitionError } from './errors/saga-definition.error.js';
export { UnknownSagaError } from './errors/unknown-saga.error.js';
export { SagaNotFoundError } from './errors/saga-not-found.error.js';
export { SagaStatusError } from './errors/saga-status.error.js';
export { SagaDataError } from './errors/saga-data.error.js';
export { SagaTimeoutError } from './errors/saga-timeout.error.js';
export { InvalidSagaOutputError } from './errors/saga-output.error.js';
export { EVENTS_CLOCK, type EventsClock } from './queue/clock.js';
export { TestClock } from './testing/test-clock.js';
export { SagaScenario, type SagaExpectation } from './testing/saga-scenario.js';
// Broadcasting (issue #19): ShouldBroadcast events to socket.io channels.
export { EventsBroadcastingModule } from './broadcasting/events-broadcasting.module.js';
export {
  type EventsBroadcastingOptions,
  type BroadcastAuthenticator,
  type BroadcastCorsOptions,
  type BroadcastHandshake,
} from './broadcasting/broadcasting.options.js';
export {
  Channel,
  PrivateChannel,
  PresenceChannel,
  type ChannelRef,
  type ChannelKind,
} from './broadcasting/channel.js';
export type { ShouldBroadcast, BroadcastMessage } from './broadcasting/should-broadcast.js';
export { BroadcastChannel } from './broadcasting/broadcast-channel.decorator.js';
export {
  Broadcaster,
  type BroadcastOptions,
  type BroadcastPayload,
} from './broadcasting/broadcaster.js';
export type { SubscribeAck } from './broadcasting/channel.subscriptions.js';
export { SocketIdInterceptor } from './broadcasting/socket-id.interceptor.js';
export { InvalidChannelNameError } from './errors/invalid-channel-name.error.js';

// Notifications (issue #19): one queued job per channel.
export { EventsNotificationsModule } from './notifications/events-notifications.module.js';
export {
  type EventsNotificationsOptions,
  type WebhookChannelOptions,
} from './notifications/notifications.options.js';
export {
  NotificationChannel,
  type NotificationChannelOptions,
} from './notifications/notification-channel.decorator.js';
export type {
  Notification,
  NotificationRequest,
  NotificationSender,
} from './notifications/notification.js';
export { Notifier } from './notifications/notifier.js';
export { WEBHOOK_SIGNATURE_HEADER, signWebhook } from './notifications/webhook.channel.js';
export { UnknownNotificationChannelError } from './errors/unknown-notification-channel.error.js';

// Command line and queue watch (issue 17)
export type { QueueActivity, WatchOptions } from './queue/queue-watch.js';
export { EventsDashboardModule } from './dashboard/events-dashboard.module.js';
export type {
  EventsDashboardOptions,
  DashboardAuthFunction,
} from './dashboard/dashboard.options.js';
export { DASHBOARD_CSRF_HEADER } from './dashboard/dashboard.constants.js';
