import { Injectable, Optional, Inject, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import { assertEventName } from '../event/event-name.js';
import type {
  EmitArgs,
  EmittedEnvelope,
  EnvelopeFor,
  TypedEventName,
  EventNamePattern,
  EventPayload,
  MappedClassEvent,
  UntypedOnly,
} from '../event/event-map.js';
import { compilePattern, parsePattern } from '../discovery/pattern-trie.js';
import type { ListenerDefinition, ListenerFn } from '../discovery/listener-definition.js';
import { ListenerRegistry, type ResolvedListeners } from '../discovery/listener.registry.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { ListenersFailedError } from '../errors/listeners-failed.error.js';
import { QueueProducer } from '../queue/queue.producer.js';
import { EVENT_RECORDER } from '../store/event-store.constants.js';
import type { EventRecorder } from '../store/event.recorder.js';
import { EventValidators, type EventValidator } from '../middleware/event-validators.js';
import type { EventSchema } from '../event/event-schema.js';
import type { AfterEventData, FailedEventData } from '../decorators/lifecycle.decorator.js';
import { createEnvelope, optionsOf } from './event-envelope.factory.js';
import type { EmitOptions } from './emit-options.js';
import { InProcessDispatcher } from './in-process.dispatcher.js';
import { emitMany, type BulkEmitHost, type EmitManyItem } from './emit-many.js';

export type { EmitOptions, EmitManyItem };

/** A listener added at run time with `bus.on`. */
export type DynamicListener<T = unknown> = (event: EventEnvelope<T>) => unknown;

/** What `bus.listeners()` reports of each listener. */
export interface ListenerSummary {
  readonly id: string;
  readonly patterns: readonly string[];
  readonly priority: number;
  readonly isQueued: boolean;
  readonly queue?: string;
}

/** @internal What the test facade plugs in: return true to take the event instead of dispatching it. */
export type DispatchInterceptor = (
  event: EventEnvelope,
  kind: 'emit' | 'emitAsync' | 'until',
  options: EmitOptions | undefined,
) => boolean;

type Kind = 'emit' | 'emitAsync' | 'until';

/** The bus seen without the event map: `around` emits derived names (`<name>.before`, ...). */
interface UntypedEmits {
  emit(name: string, data: unknown, options?: EmitOptions): Promise<EventEnvelope>;
  emitAsync(name: string, data: unknown, options?: EmitOptions): Promise<unknown[]>;
}

/**
 * Emits events to in-process listeners (`@OnEvent`) and queued listeners (`@ShouldQueue`),
 * and exposes every event as an RxJS stream.
 */
@Injectable()
export class EventBus implements OnApplicationShutdown {
  private readonly logger = new Logger(EventBus.name);
  private readonly dispatcher = new InProcessDispatcher();
  private readonly subject = new Subject<EventEnvelope>();
  private held: (() => void)[] | undefined = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly dynamic = new Map<Function, Map<string, string>>();
  private dynamicSeq = 0;
  private interceptor: DispatchInterceptor | undefined;
  private readonly validators = new EventValidators();
  private bulkHost: BulkEmitHost | undefined;

  constructor(
    private readonly registry: ListenerRegistry,
    private readonly producer: QueueProducer,
    @Optional()
    @Inject(EVENT_RECORDER)
    private readonly recorder: EventRecorder | null = null,
  ) {}

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
    let envelope: EventEnvelope | Promise<EventEnvelope>;
    try {
      envelope = this.envelope(nameOrEvent, dataOrOptions, maybeOptions);
    } catch (error) {
      return this.failed(error, nameOfEmit(nameOrEvent), undefined);
    }
    const options = optionsOf(nameOrEvent, dataOrOptions, maybeOptions);
    if (envelope instanceof Promise) return this.emitWhenValid(envelope, nameOrEvent, options);
    return this.send(envelope, options);
  }

  /** An emit whose schema answered with a promise: nothing is stored or runs before it settles. */
  private emitWhenValid(
    validated: Promise<EventEnvelope>,
    nameOrEvent: unknown,
    options: EmitOptions | undefined,
  ): Promise<EventEnvelope> {
    const emitted = validated.then(
      (envelope) => this.send(envelope, options),
      (error: unknown) => this.failed(error, nameOfEmit(nameOrEvent), undefined),
    );
    // Logged where it failed: an emit without `await` cannot end the process.
    emitted.catch(noop);
    return emitted;
  }

  /** The emit of a validated envelope. */
  private send(envelope: EventEnvelope, options: EmitOptions | undefined): Promise<EventEnvelope> {
    // The hot path: bound, not faked, not recorded, not delayed, no queued listener. One
    // resolved promise and the listener calls, nothing else.
    if (
      this.held === undefined &&
      this.interceptor === undefined &&
      this.recorder === null &&
      (options === undefined || !options.delay)
    ) {
      const listeners = this.registry.resolve(envelope.name);
      if (listeners.queued.length === 0) {
        if (this.subject.observed) this.subject.next(envelope);
        if (listeners.inProcess.length > 0) this.dispatcher.dispatch(envelope, listeners);
        return Promise.resolve(envelope);
      }
    }
    let delivered: Promise<DispatchResult>;
    try {
      delivered = this.deliver(envelope, options, 'emit');
    } catch (error) {
      return this.failed(error, envelope.name, envelope.id);
    }
    const emitted: Promise<EventEnvelope> = delivered.then(
      () => envelope,
      (error: unknown) => {
        // Handled (from Node's view) before it rejects: nothing to pay while emits succeed.
        emitted.catch(noop);
        this.logFailure(error, envelope.name, envelope.id);
        throw error;
      },
    );
    return emitted;
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
    return emitMany((this.bulkHost ??= this.createBulkHost()), events);
  }

  /** What `emitMany` (its own file) needs of the bus. */
  private createBulkHost(): BulkEmitHost {
    return {
      producer: this.producer,
      recorder: this.recorder,
      envelope: (nameOrEvent, data, options) => this.envelope(nameOrEvent, data, options),
      hold: (deliver) => {
        if (this.held === undefined) return false;
        this.held.push(deliver);
        return true;
      },
      intercept: (envelope, options) => this.interceptor?.(envelope, 'emit', options) === true,
      resolve: (name) => this.registry.resolve(name),
      runStored: (envelope, listeners, dueAt) =>
        void this.runStored(envelope, listeners, 'emit', dueAt),
      logFailure: (error, name, id) => this.logFailure(error, name, id),
    };
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
      const envelope = this.envelope(nameOrEvent, dataOrOptions, maybeOptions);
      const options = optionsOf(nameOrEvent, dataOrOptions, maybeOptions);
      if (envelope instanceof Promise) return envelope.then((e) => this.collect(e, options));
      return this.collect(envelope, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `emitAsync` of a validated envelope. */
  private collect(envelope: EventEnvelope, options: EmitOptions | undefined): Promise<unknown[]> {
    return this.deliver(envelope, options, 'emitAsync').then((outcome) => {
      if (outcome && outcome.failures.length > 0) {
        throw new ListenersFailedError(envelope.name, outcome.failures, outcome.results);
      }
      return outcome?.results ?? [];
    });
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
    let envelope = this.envelope(nameOrEvent, dataOrOptions, maybeOptions);
    if (envelope instanceof Promise) envelope = await envelope;
    await this.whenBound();
    if (this.interceptor?.(envelope, 'until', optionsOf(nameOrEvent, dataOrOptions, maybeOptions)))
      return undefined;
    this.publish(envelope);
    const outcome = await this.dispatcher.untilFirst(
      envelope,
      this.registry.resolve(envelope.name),
    );
    if (!outcome.found && outcome.failures.length > 0) {
      throw new ListenersFailedError(envelope.name, outcome.failures, []);
    }
    return outcome.value;
  }

  /**
   * Every event whose name matches `pattern` (all events without one), as they are emitted.
   *
   * @example
   * bus.stream('order.*').subscribe((event) => console.log(event.name, event.data));
   */
  stream<T = unknown>(...pattern: UntypedOnly<[pattern?: string]>): Observable<EventEnvelope<T>>;
  stream<P extends EventNamePattern = '**'>(pattern?: P): Observable<EnvelopeFor<P>>;
  stream<T = unknown>(pattern?: string): Observable<EventEnvelope<T>> {
    if (pattern === undefined) return this.subject.asObservable() as Observable<EventEnvelope<T>>;
    parsePattern(pattern);
    const matches = compilePattern(pattern);
    return new Observable<EventEnvelope<T>>((subscriber) =>
      this.subject.subscribe({
        next: (event) => {
          if (matches(event.name)) subscriber.next(event as EventEnvelope<T>);
        },
        complete: () => subscriber.complete(),
      }),
    );
  }

  /** Adds an in-process listener at run time; returns the function that removes it. */
  on<T = unknown>(
    pattern: UntypedOnly<string>,
    listener: DynamicListener<T>,
    options?: { priority?: number },
  ): () => void;
  on<P extends EventNamePattern>(
    pattern: P,
    listener: (event: EnvelopeFor<P>) => unknown,
    options?: { priority?: number },
  ): () => void;
  on<T = unknown>(
    pattern: string,
    listener: DynamicListener<T>,
    options: { priority?: number } = {},
  ): () => void {
    parsePattern(pattern);
    if (typeof listener !== 'function')
      throw new InvalidOptionError('listener', listener, 'a function');
    const id = `on(${pattern})#${++this.dynamicSeq}`;
    const info = { id, isQueued: false };
    this.registry.add({
      id,
      patterns: [pattern],
      priority: options.priority ?? 0,
      info,
      invoke: listener as ListenerFn,
      isAsync: listener.constructor.name === 'AsyncFunction',
      eventClasses: [],
    });
    let byPattern = this.dynamic.get(listener);
    if (!byPattern) this.dynamic.set(listener, (byPattern = new Map()));
    byPattern.set(id, pattern);
    return () => {
      this.registry.remove(id);
      byPattern.delete(id);
    };
  }

  /** Removes listeners added with `on(pattern, listener)`. */
  off(pattern: string, listener: DynamicListener): void {
    const byPattern = this.dynamic.get(listener);
    if (!byPattern) return;
    for (const [id, p] of byPattern) {
      if (p === pattern) {
        this.registry.remove(id);
        byPattern.delete(id);
      }
    }
  }

  /**
   * Declares a validator of the events emitted under `name` (class events: also
   * `@ValidateEvent` and class-validator decorators). `emit` then refuses an invalid payload with
   * `EventValidationError` before anything is stored or any listener runs. Returns the remover.
   *
   * @example
   * bus.addValidator<User>('user.save', (u) => (u.email?.includes('@') ? [] : [{ path: 'email', message: 'is not an email' }]));
   */
  addValidator<T = unknown>(
    name: string,
    validator: EventValidator<T> | EventSchema<T>,
  ): () => void {
    assertEventName(name);
    return this.validators.add(name, validator as EventValidator);
  }

  /** @internal The schema of events named `name`, for the worker (see `EventSchemasRegistrar`). */
  schemaOf(name: string): EventSchema | undefined {
    return this.validators.schemaOf(name);
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
  async around<T, R>(
    name: string,
    data: T,
    action: () => R | Promise<R>,
    options?: EmitOptions,
  ): Promise<R> {
    assertEventName(name);
    if (typeof action !== 'function') throw new InvalidOptionError('action', action, 'a function');
    const bus = this as unknown as UntypedEmits;
    await bus.emitAsync(`${name}.before`, data, options);
    let result: R;
    try {
      result = await action();
    } catch (error) {
      const failed: FailedEventData<T> = {
        data,
        error: {
          name: error instanceof Error ? error.name : typeof error,
          message: error instanceof Error ? error.message : String(error),
          ...(typeof (error as { code?: unknown })?.code === 'string'
            ? { code: (error as { code: string }).code }
            : {}),
        },
      };
      // The action's error is what the caller gets; a failed emit is logged by `emit` itself.
      await bus.emit(`${name}.failed`, failed, options).catch(noop);
      throw error;
    }
    const after: AfterEventData<T, R> = { data, result };
    await bus.emit(`${name}.after`, after, options);
    return result;
  }

  /** Whether any listener (in-process or queued) matches the event name. */
  hasListeners(name: string): boolean {
    assertEventName(name);
    const { inProcess, queued } = this.registry.resolve(name);
    return inProcess.length + queued.length > 0;
  }

  /** Every registered listener, or those matching `name`, in call order. */
  listeners(name?: string): ListenerSummary[] {
    let list: readonly ListenerDefinition[];
    if (name === undefined) list = this.registry.all();
    else {
      assertEventName(name);
      const { inProcess, queued } = this.registry.resolve(name);
      list = [...inProcess, ...queued];
    }
    return list.map((l) => ({
      id: l.id,
      patterns: l.patterns,
      priority: l.priority,
      isQueued: !!l.queue,
      queue: l.queue?.queue,
    }));
  }

  /** @internal Called by the explorer once listeners are registered: delivers what was held. */
  bind(): void {
    const held = this.held;
    this.held = undefined;
    for (const deliver of held ?? []) deliver();
  }

  /** @internal The test facade's hook. */
  setInterceptor(interceptor: DispatchInterceptor | undefined): void {
    this.interceptor = interceptor;
  }

  onApplicationShutdown(): void {
    if (this.timers.size > 0) {
      this.logger.warn(
        `${this.timers.size} delayed in-process deliveries dropped at shutdown (queued jobs are kept)`,
      );
    }
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.subject.complete();
  }

  /**
   * The rejected promise of an emit that failed at once. Like every failed emit, it is logged and
   * never reported to Node as unhandled: a forgotten `await` must not end the process.
   */
  private failed(error: unknown, name: string, id: string | undefined): Promise<never> {
    const rejected = Promise.reject(error);
    rejected.catch(noop);
    this.logFailure(error, name, id);
    return rejected;
  }

  /** Every failed emit is logged once, at ERROR, whether or not its caller awaits it. */
  private logFailure(error: unknown, name: string, id: string | undefined): void {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error(
      `Emit of "${name}" (${id ?? 'no id: refused before it had one'}) failed: ${message}`,
      error instanceof Error ? error.stack : undefined,
    );
  }

  private whenBound(): Promise<void> {
    if (!this.held) return Promise.resolve();
    return new Promise((resolve) => this.held!.push(resolve));
  }

  /**
   * Builds and validates the envelope; throws typed errors before anything is delivered. A
   * promise only when the event's schema is async.
   */
  private envelope(
    nameOrEvent: unknown,
    dataOrOptions: unknown,
    maybeOptions: EmitOptions | undefined,
  ): EventEnvelope | Promise<EventEnvelope> {
    return createEnvelope(nameOrEvent, dataOrOptions, maybeOptions, this.validators, this.registry);
  }

  private deliver(
    envelope: EventEnvelope,
    options: EmitOptions | undefined,
    kind: Kind,
  ): Promise<DispatchResult> {
    if (this.held) {
      // Emitted before listeners are bound (a constructor, a factory): keep it and deliver it in
      // order once they are. `emit` resolves now (awaiting it in a factory must not deadlock
      // the bootstrap); `emitAsync` settles when its listeners have run.
      if (kind === 'emit') {
        this.held.push(() => {
          this.deliver(envelope, options, kind).catch((error: unknown) =>
            this.logger.error(
              `Event "${envelope.name}" (${envelope.id}) emitted before bootstrap failed: ${String(error)}`,
            ),
          );
        });
        return Promise.resolve(undefined);
      }
      return new Promise((resolve, reject) => {
        this.held!.push(() => this.deliver(envelope, options, kind).then(resolve, reject));
      });
    }
    if (this.interceptor?.(envelope, kind, options)) return Promise.resolve(undefined);
    const listeners = this.registry.resolve(envelope.name);
    const delay = options?.delay ?? 0;
    // An explicit id makes the emit safe to retry: the transport stores its jobs once.
    const isDeduplicated = options?.id !== undefined;
    const dueAt = delay > 0 ? Date.now() + delay : 0;
    // Recording (`store.record`) serializes the payload now, so a bad one is refused before
    // anything runs, then appends; queued jobs are stored only once the event is in the store.
    const recorded = this.recorder === null ? undefined : this.recorder.record(envelope);
    // Queued jobs are serialized first: a payload they cannot carry is refused before any
    // listener runs or anything is stored.
    const stored =
      listeners.queued.length > 0
        ? recorded === undefined
          ? this.producer.enqueue(envelope, listeners.queued, delay, isDeduplicated)
          : recorded.then(() =>
              this.producer.enqueue(envelope, listeners.queued, delay, isDeduplicated),
            )
        : recorded;
    if (stored === undefined) {
      return this.runStored(envelope, listeners, kind, dueAt) ?? Promise.resolve(undefined);
    }
    // All or nothing: in-process listeners (and stream subscribers) hear of the event only once
    // its record and its jobs are stored. An emit that rejects had no effect, so the caller's
    // retry does not run anything twice.
    return stored.then(() => this.runStored(envelope, listeners, kind, dueAt));
  }

  /** The in-process half of an emit whose stored half (if any) succeeded: now, or at `dueAt`. */
  private runStored(
    envelope: EventEnvelope,
    listeners: ResolvedListeners,
    kind: Kind,
    dueAt: number,
  ): Promise<DispatchResult> | undefined {
    if (dueAt > 0) {
      if (listeners.inProcess.length > 0 || this.subject.observed) {
        this.runLater(dueAt, () => this.runInProcess(envelope, listeners, 'emit'));
      }
      return undefined;
    }
    return this.runInProcess(envelope, listeners, kind);
  }

  /** Runs `fn` at `dueAt` by the wall clock (timers may fire a little early by it). */
  private runLater(dueAt: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (Date.now() < dueAt) this.runLater(dueAt, fn);
      else fn();
    }, dueAt - Date.now());
    this.timers.add(timer);
  }

  private runInProcess(
    envelope: EventEnvelope,
    listeners: ResolvedListeners,
    kind: Kind,
  ): Promise<DispatchResult> | undefined {
    this.publish(envelope);
    if (listeners.inProcess.length === 0) return undefined;
    if (kind === 'emit') {
      this.dispatcher.dispatch(envelope, listeners);
      return undefined;
    }
    const outcome = this.dispatcher.collect(envelope, listeners);
    return outcome instanceof Promise ? outcome : Promise.resolve(outcome);
  }

  private publish(envelope: EventEnvelope): void {
    if (this.subject.observed) this.subject.next(envelope);
  }
}

function noop(): void {}

/** The event name of an emit that was refused before it had an envelope, for the log. */
function nameOfEmit(nameOrEvent: unknown): string {
  if (typeof nameOrEvent === 'string') return nameOrEvent;
  const type = (nameOrEvent as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof type === 'string' ? `an instance of ${type}` : String(nameOrEvent);
}

type DispatchResult =
  { results: unknown[]; failures: { listener: string; error: unknown }[] } | undefined;
