import { Injectable, Optional, Inject, type OnApplicationShutdown } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import type {
  EmitArgs,
  EmittedEnvelope,
  TypedEventName,
  EventPayload,
  MappedClassEvent,
  UntypedOnly,
} from '../event/event-map.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { QueueProducer } from '../queue/queue.producer.js';
import { EVENT_RECORDER } from '../store/event-store.constants.js';
import type { EventRecorder } from '../store/event.recorder.js';
import { runAround, type UntypedEmits } from './around.js';
import type { DynamicListener } from './dynamic-listeners.js';
import type { EmitOptions } from './emit-options.js';
import { ListenersFailedError } from '../errors/listeners-failed.error.js';
import { EmitFailures, nameOfEmit } from './emit-failures.js';
import type { PreparedEmit } from './emit-preparer.js';
import { EventDelivery, type DispatchInterceptor } from './event-delivery.js';
import { InProcessDispatcher } from './in-process.dispatcher.js';
import { bulkEmitHost, emitMany, type BulkEmitHost, type EmitManyItem } from './emit-many.js';
import {
  outboxBusPort,
  routeToOutbox,
  type OutboxBusPort,
  type OutboxRouter,
} from './outbox-port.js';
import { BusListeners } from './bus-listeners.js';
import type { ListenerSummary } from './listener-summary.js';
import type { EmitCondition } from './emit-condition.js';
import { EVENT_TRACER, type EventTracer } from '../tracing/event-tracer.js';

export type {
  EmitOptions,
  EmitManyItem,
  DynamicListener,
  DispatchInterceptor,
  EmitCondition,
  ListenerSummary,
};

/**
 * Emits events to in-process listeners (`@OnEvent`) and queued listeners (`@ShouldQueue`),
 * and exposes every event as an RxJS stream.
 */
@Injectable()
export class EventBus extends BusListeners implements OnApplicationShutdown {
  private readonly failures = new EmitFailures();
  private readonly dispatcher: InProcessDispatcher;
  protected readonly delivery: EventDelivery;
  private bulkHost: BulkEmitHost | undefined;
  private outbox: OutboxRouter | undefined;

  constructor(
    registry: ListenerRegistry,
    private readonly producer: QueueProducer,
    @Inject(EVENTS_OPTIONS) options: ResolvedEventsOptions,
    @Optional()
    @Inject(EVENT_RECORDER)
    private readonly recorder: EventRecorder | null = null,
    @Optional() @Inject(EVENT_TRACER) private readonly tracer: EventTracer | null = null,
  ) {
    super(registry);
    this.dispatcher = new InProcessDispatcher(options.asyncContext);
    this.delivery = new EventDelivery(registry, producer, recorder, this.dispatcher, tracer);
  }

  /**
   * Emits an event. When it has queued listeners (or is recorded), their jobs (and its record)
   * are stored first, then in-process listeners are called (their errors are logged, never
   * thrown here): an emit that rejects had no effect. Resolves to the envelope that was emitted.
   * A failed emit rejects with a typed error and is logged at ERROR with its name and id; its
   * rejection never counts as unhandled, so an emit without `await` cannot end the process.
   *
   * @example
   * await bus.emit('order.created', { id: 'o1' });
   * await bus.emit(new OrderShipped('o1'), { metadata: { tenantId: 't1' } });
   */
  emit<N extends TypedEventName, T = unknown>(
    name: N,
    ...args: EmitArgs<N, EmitOptions, T>
  ): Promise<EmittedEnvelope<N, T>>;
  emit<T extends MappedClassEvent>(event: T, options?: EmitOptions): Promise<EventEnvelope<T>>;
  emit(
    nameOrEvent: unknown,
    dataOrOptions?: unknown,
    maybeOptions?: EmitOptions,
  ): Promise<EventEnvelope> {
    let prepared: PreparedEmit | Promise<PreparedEmit>;
    try {
      prepared = this.preparer.prepare(nameOrEvent, dataOrOptions, maybeOptions);
    } catch (error) {
      return this.failures.refused(error, nameOfEmit(nameOrEvent));
    }
    if (prepared instanceof Promise) return this.emitWhenValid(prepared, nameOrEvent);
    return this.send(prepared);
  }

  /** An emit whose schema answered with a promise: nothing is stored or runs before it settles. */
  private emitWhenValid(
    validated: Promise<PreparedEmit>,
    nameOrEvent: unknown,
  ): Promise<EventEnvelope> {
    const emitted = validated.then(
      (prepared) => this.send(prepared),
      (error: unknown) => this.failures.refused(error, nameOfEmit(nameOrEvent)),
    );
    // Logged where it failed: an emit without `await` cannot end the process.
    emitted.catch(() => undefined);
    return emitted;
  }

  /** The emit of a checked, resolved event. */
  private send(prepared: PreparedEmit): Promise<EventEnvelope> {
    // One cheap check when no outbox is configured and no `transaction` option is given.
    if (this.outbox !== undefined || prepared.options?.transaction !== undefined) {
      const routed = routeToOutbox(this.outbox, this.failures, prepared, 'emit');
      if (routed !== undefined) return routed;
    }
    const { envelope, listeners, options } = prepared;
    // The hot path: bound, not faked, not recorded, not delayed, no queued listener. One
    // resolved promise and the listener calls, nothing else.
    if (listeners.queued.length === 0 && this.delivery.isDirect(options)) {
      this.delivery.runInProcess(envelope, listeners, 'emit');
      return Promise.resolve(envelope);
    }
    let delivered: Promise<unknown>;
    try {
      delivered = this.delivery.deliver(envelope, options, 'emit', listeners);
    } catch (error) {
      return this.failures.refused(error, envelope.name, envelope.id);
    }
    return this.failures.watch(delivered, envelope, envelope.name, envelope.id);
  }

  /** @internal Called by the outbox (lib/outbox/) once: emits in a transaction go to it. */
  attachOutbox(router: OutboxRouter): OutboxBusPort {
    this.outbox = router;
    return outboxBusPort(this.delivery);
  }

  /**
   * Emits many events at once: every item is checked first (a bad one rejects with the error
   * `emit` would throw, and nothing is stored or run), all their queued jobs are stored in one
   * batch (one script call on a standalone Redis, all or none; on a Redis Cluster all or none per
   * queue), then each event's in-process listeners run as `emit` runs them, in item order.
   * Resolves to the envelopes in item order once every job is stored.
   *
   * @example
   * await bus.emitMany([
   *   { name: 'order.created', data: { id: 'o1' } },
   *   { name: 'order.created', data: { id: 'o2' }, options: { delay: 60000 } },
   *   { event: new OrderShipped('o1') },
   * ]);
   */
  emitMany(events: readonly EmitManyItem[]): Promise<EventEnvelope[]> {
    return emitMany(
      (this.bulkHost ??= bulkEmitHost({
        producer: this.producer,
        recorder: this.recorder,
        tracer: this.tracer,
        preparer: this.preparer,
        delivery: this.delivery,
        registry: this.registry,
        failures: this.failures,
      })),
      events,
    );
  }

  /**
   * Emits an event and also awaits its in-process listeners. Resolves to their results in call
   * order; rejects with `ListenersFailedError` listing every listener that failed.
   */
  emitAsync<R = unknown, N extends TypedEventName = TypedEventName>(
    name: N,
    ...args: EmitArgs<N, EmitOptions>
  ): Promise<R[]>;
  emitAsync<R = unknown>(event: MappedClassEvent, options?: EmitOptions): Promise<R[]>;
  emitAsync(
    nameOrEvent: unknown,
    dataOrOptions?: unknown,
    maybeOptions?: EmitOptions,
  ): Promise<unknown[]> {
    try {
      const prepared = this.preparer.prepare(nameOrEvent, dataOrOptions, maybeOptions);
      if (prepared instanceof Promise) return prepared.then((p) => this.collect(p));
      return this.collect(prepared);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `emitAsync` of a checked, resolved event. Throws `ListenersFailedError` when a sync listener
   * failed (the caller turns it into a rejection), rejects with it when an async one did.
   */
  private collect(prepared: PreparedEmit): Promise<unknown[]> {
    if (this.outbox !== undefined || prepared.options?.transaction !== undefined) {
      const routed = routeToOutbox(this.outbox, this.failures, prepared, 'emitAsync');
      if (routed !== undefined) return routed;
    }
    const { envelope, listeners, options } = prepared;
    if (listeners.queued.length === 0 && this.delivery.isDirect(options)) {
      // The hot path: the dispatcher's own promise (one `.then` on one async listener's) is
      // what the caller awaits, with no promise of ours around it.
      const results = this.delivery.runInProcess(envelope, listeners, 'emitAsync') ?? [];
      return results instanceof Promise ? results : Promise.resolve(results);
    }
    return this.delivery
      .deliver(envelope, options, 'emitAsync', listeners)
      .then((results) => results ?? []);
  }

  /**
   * Asks the in-process listeners in priority order and resolves with the first result that is
   * not `undefined` (later listeners are not called). Queued listeners are not involved.
   */
  until<R = unknown, N extends TypedEventName = TypedEventName>(
    name: N,
    ...args: EmitArgs<N, EmitOptions>
  ): Promise<R | undefined>;
  until<R = unknown>(event: MappedClassEvent, options?: EmitOptions): Promise<R | undefined>;
  async until(
    nameOrEvent: unknown,
    dataOrOptions?: unknown,
    maybeOptions?: EmitOptions,
  ): Promise<unknown> {
    const prepared = await this.preparer.prepare(nameOrEvent, dataOrOptions, maybeOptions);
    const { envelope, options } = prepared;
    const wasBound = this.delivery.isBound;
    await this.delivery.whenBound();
    if (this.delivery.interceptor?.(envelope, 'until', options)) return undefined;
    this.delivery.publish(envelope);
    // Listeners bound while it waited are part of the set: resolved again only then.
    const listeners = wasBound ? prepared.listeners : this.registry.resolve(envelope.name);
    const outcome = await this.dispatcher.untilFirst(envelope, listeners);
    if (!outcome.found && outcome.failures.length > 0) {
      throw new ListenersFailedError(envelope.name, outcome.failures, []);
    }
    return outcome.value;
  }

  /**
   * Runs `action` between lifecycle events: emits `<name>.before` with `data` and awaits its
   * in-process listeners (one that throws cancels the action: `around` rejects with
   * `ListenersFailedError` and the action never runs), runs the action, then emits
   * `<name>.after` with `{ data, result }` and resolves to the result, or emits `<name>.failed`
   * with `{ data, error }` and rethrows the action's error. Listen with `@Before(name)`,
   * `@After(name)` and `@Failed(name)`.
   *
   * @example
   * const saved = await bus.around('user.save', user, () => this.users.insert(user));
   */
  around<T, R>(
    name: UntypedOnly<string>,
    data: T,
    action: () => R | Promise<R>,
    options?: EmitOptions,
  ): Promise<R>;
  around<N extends TypedEventName, R>(
    name: N,
    data: EventPayload<N>,
    action: () => R | Promise<R>,
    options?: EmitOptions,
  ): Promise<R>;
  around<T, R>(
    name: string,
    data: T,
    action: () => R | Promise<R>,
    options?: EmitOptions,
  ): Promise<R> {
    return runAround(this as unknown as UntypedEmits, name, data, action, options);
  }

  /** @internal Called by the explorer once listeners are registered: delivers what was held. */
  bind(): void {
    this.delivery.bind();
  }

  /** @internal Calls `observer` with every event this bus delivers (`EventMetrics`). */
  observeEmits(observer: ((event: EventEnvelope) => void) | undefined): void {
    this.delivery.onPublish = observer;
  }

  /**
   * @internal True when the test facade takes `envelope` (it is recorded and must not be
   * delivered): a broadcast sent outside an emit, while faking.
   */
  intercepts(envelope: () => EventEnvelope): boolean {
    const interceptor = this.delivery.interceptor;
    // Outside tests there is no interceptor: the envelope is never built.
    return interceptor ? interceptor(envelope(), 'emit', {}) === true : false;
  }

  /** @internal The test facade's hook. */
  setInterceptor(interceptor: DispatchInterceptor | undefined): void {
    this.delivery.interceptor = interceptor;
  }

  onApplicationShutdown(): void {
    this.delivery.close();
  }
}
