import { Logger } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerRegistry, ResolvedListeners } from '../discovery/listener.registry.js';
import type { QueueProducer } from '../queue/queue.producer.js';
import type { EventRecorder } from '../store/event.recorder.js';
import type { EmitOptions } from './emit-options.js';
import type { InProcessDispatcher } from './in-process.dispatcher.js';
import type { EventTracer } from '../tracing/event-tracer.js';
import { tracedQueues } from '../tracing/traced-queues.js';
import { WallClockTimer } from '../wall-clock-timer.js';

/** How the caller waits: `emit` for stored jobs, `emitAsync` also for in-process listeners. */
export type DeliveryKind = 'emit' | 'emitAsync' | 'until';

/** @internal What the test facade plugs in: return true to take the event instead of dispatching it. */
export type DispatchInterceptor = (
  event: EventEnvelope,
  kind: DeliveryKind,
  options: EmitOptions | undefined,
) => boolean;

/**
 * The slow half of an emit, once it is prepared: holding events emitted before listeners are
 * bound, the test facade's interceptor, recording, storing queued jobs (all or nothing, before any
 * in-process listener runs), delays, and the in-process run. Resolves to the in-process results
 * when the caller awaits them (`emitAsync`), `undefined` otherwise.
 */
export class EventDelivery {
  private readonly logger = new Logger('EventBus');
  /** Every emitted event, for `bus.stream()`. */
  readonly subject = new Subject<EventEnvelope>();
  private held: (() => void)[] | undefined = [];
  private readonly timers = new Set<WallClockTimer>();
  /** The test facade's hook. */
  interceptor: DispatchInterceptor | undefined;
  /** @internal Told of every delivered event (`EventMetrics` counts emits). */
  onPublish: ((event: EventEnvelope) => void) | undefined;

  constructor(
    private readonly registry: ListenerRegistry,
    private readonly producer: QueueProducer,
    private readonly recorder: EventRecorder | null,
    private readonly dispatcher: InProcessDispatcher,
    private readonly tracer: EventTracer | null = null,
  ) {}

  /**
   * True when an emit may skip this class altogether: listeners are bound, no interceptor, no
   * recorder, no delay. The bus then only needs to check that no queued listener matches.
   */
  isDirect(options: EmitOptions | undefined): boolean {
    return (
      this.held === undefined &&
      this.interceptor === undefined &&
      this.recorder === null &&
      (options === undefined || !options.delay)
    );
  }

  /** Whether listeners are bound (emits are no longer held). */
  get isBound(): boolean {
    return this.held === undefined;
  }

  /** Resolves once listeners are bound (at once, when they are). */
  whenBound(): Promise<void> {
    const held = this.held;
    if (!held) return Promise.resolve();
    return new Promise((resolve) => held.push(resolve));
  }

  /** Before listeners are bound: keeps `deliver` for then and returns true (false once bound). */
  hold(deliver: () => void): boolean {
    if (this.held === undefined) return false;
    this.held.push(deliver);
    return true;
  }

  /** Called once listeners are registered: delivers what was held, in emit order. */
  bind(): void {
    const held = this.held;
    this.held = undefined;
    for (const deliver of held ?? []) deliver();
  }

  /**
   * Delivers a prepared emit. `listeners` are those resolved when it was prepared; an event held
   * until listeners are bound is resolved again when it is delivered (the set was incomplete).
   */
  deliver(
    envelope: EventEnvelope,
    options: EmitOptions | undefined,
    kind: DeliveryKind,
    listeners: ResolvedListeners,
  ): Promise<unknown[] | undefined> {
    const held = this.held;
    if (held) {
      const later = (): Promise<unknown[] | undefined> =>
        this.deliver(envelope, options, kind, this.registry.resolve(envelope.name));
      // Emitted before listeners are bound (a constructor, a factory): keep it and deliver it in
      // order once they are. `emit` resolves now (awaiting it in a factory must not deadlock
      // the bootstrap); `emitAsync` settles when its listeners have run.
      if (kind === 'emit') {
        held.push(() => {
          later().catch((error: unknown) =>
            this.logger.error(
              `Event "${envelope.name}" (${envelope.id}) emitted before bootstrap failed: ${String(error)}`,
            ),
          );
        });
        return Promise.resolve(undefined);
      }
      return new Promise((resolve, reject) => held.push(() => later().then(resolve, reject)));
    }
    if (this.interceptor?.(envelope, kind, options)) return Promise.resolve(undefined);
    // An emit that sends jobs is traced (a PRODUCER span, its context in the jobs' metadata);
    // its in-process listeners then run inside that span.
    if (this.tracer !== null && listeners.queued.length > 0) {
      return this.tracer.send(envelope, tracedQueues(listeners.queued), () =>
        this.store(envelope, options, kind, listeners),
      );
    }
    return this.store(envelope, options, kind, listeners);
  }

  /** Records and stores a bound, not intercepted emit, then runs its in-process half. */
  private store(
    envelope: EventEnvelope,
    options: EmitOptions | undefined,
    kind: DeliveryKind,
    listeners: ResolvedListeners,
  ): Promise<unknown[] | undefined> {
    const delay = options?.delay ?? 0;
    // An explicit id makes the emit safe to retry: the transport stores its jobs once.
    const isDeduplicated = options?.id !== undefined;
    const dueAt = delay > 0 ? Date.now() + delay : 0;
    // Recording (`store.record`) serializes the payload now, so a bad one is refused before
    // anything runs, then appends; queued jobs are stored only once the event is in the store.
    // A priority for a grouped queue is refused before the event is recorded.
    this.producer.refusePriority(listeners.queued, options?.priority);
    const recorded = this.recorder === null ? undefined : this.recorder.record(envelope);
    // Queued jobs are serialized first: a payload they cannot carry is refused before any
    // listener runs or anything is stored.
    const stored =
      listeners.queued.length > 0
        ? recorded === undefined
          ? this.producer.enqueue(envelope, listeners.queued, delay, isDeduplicated, options)
          : recorded.then(() =>
              this.producer.enqueue(envelope, listeners.queued, delay, isDeduplicated, options),
            )
        : recorded;
    if (stored === undefined) {
      return Promise.resolve(this.runStored(envelope, listeners, kind, dueAt));
    }
    // All or nothing: in-process listeners (and stream subscribers) hear of the event only once
    // its record and its jobs are stored. An emit that rejects had no effect, so the caller's
    // retry does not run anything twice.
    return stored.then(() => this.runStored(envelope, listeners, kind, dueAt));
  }

  /**
   * The in-process half of an emit: stream subscribers, then listeners. Fire and forget for
   * `emit`; for `emitAsync` their results (a promise when one of them returned one).
   * @throws ListenersFailedError (or rejects with it) when an awaited listener failed
   */
  runInProcess(
    envelope: EventEnvelope,
    listeners: ResolvedListeners,
    kind: DeliveryKind,
  ): unknown[] | Promise<unknown[]> | undefined {
    this.publish(envelope);
    if (listeners.inProcess.length === 0) return kind === 'emit' ? undefined : [];
    if (kind === 'emit') {
      this.dispatcher.dispatch(envelope, listeners);
      return undefined;
    }
    return this.dispatcher.collect(envelope, listeners);
  }

  publish(envelope: EventEnvelope): void {
    if (this.onPublish !== undefined) this.onPublish(envelope);
    if (this.subject.observed) this.subject.next(envelope);
  }

  /** Drops delayed in-process deliveries (queued jobs are kept) and completes the stream. */
  close(): void {
    if (this.timers.size > 0) {
      this.logger.warn(
        `${this.timers.size} delayed in-process deliveries dropped at shutdown (queued jobs are kept)`,
      );
    }
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    this.subject.complete();
  }

  /** The in-process half of an emit whose stored half (if any) succeeded: now, or at `dueAt`. */
  runStored(
    envelope: EventEnvelope,
    listeners: ResolvedListeners,
    kind: DeliveryKind,
    dueAt: number,
  ): unknown[] | Promise<unknown[]> | undefined {
    if (dueAt > 0) {
      if (listeners.inProcess.length > 0 || this.subject.observed) {
        this.runLater(dueAt, () => this.runInProcess(envelope, listeners, 'emit'));
      }
      return undefined;
    }
    return this.runInProcess(envelope, listeners, kind);
  }

  /** Runs `fn` at `dueAt` by the wall clock. */
  private runLater(dueAt: number, fn: () => void): void {
    const timer = new WallClockTimer(dueAt, () => {
      this.timers.delete(timer);
      fn();
    });
    this.timers.add(timer);
  }
}
