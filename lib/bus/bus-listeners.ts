import { Observable } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import { assertEventName } from '../event/event-name.js';
import type { EnvelopeFor, EventNamePattern, UntypedOnly } from '../event/event-map.js';
import type { EventSchema } from '../event/event-schema.js';
import { compilePattern, parsePattern } from '../discovery/pattern-trie.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { EventValidators, type EventValidator } from '../middleware/event-validators.js';
import { DynamicListeners, type DynamicListener } from './dynamic-listeners.js';
import { EmitPreparer } from './emit-preparer.js';
import type { EventDelivery } from './event-delivery.js';
import { hasListeners, summarizeListeners, type ListenerSummary } from './listener-summary.js';
import { ScheduledEmits } from './scheduled-emits.js';

/**
 * The parts of `EventBus` about who listens: streams, listeners added at run time, validators,
 * and the listing of listeners (a base class, so `event-bus.ts` keeps to the emits themselves).
 */
export abstract class BusListeners extends ScheduledEmits {
  protected readonly validators = new EventValidators();
  protected readonly preparer: EmitPreparer;
  private readonly dynamic: DynamicListeners;
  protected abstract readonly delivery: EventDelivery;

  constructor(protected readonly registry: ListenerRegistry) {
    super();
    this.preparer = new EmitPreparer(registry, this.validators);
    this.dynamic = new DynamicListeners(registry);
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
    const subject = this.delivery.subject;
    if (pattern === undefined) return subject.asObservable() as Observable<EventEnvelope<T>>;
    parsePattern(pattern);
    const matches = compilePattern(pattern);
    return new Observable<EventEnvelope<T>>((subscriber) =>
      subject.subscribe({
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
    return this.dynamic.add(pattern, listener as DynamicListener, options.priority);
  }

  /** Removes listeners added with `on(pattern, listener)`. */
  off(pattern: string, listener: DynamicListener): void {
    this.dynamic.remove(pattern, listener);
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

  /**
   * @internal Runs `check` on every class event at emit, before anything is stored or any
   * listener runs: one that throws refuses the emit with its error (broadcasting checks the
   * channels of `broadcastOn()` this way). Returns the remover.
   */
  addInstanceCheck(check: (event: object) => void): () => void {
    return this.preparer.addInstanceCheck(check);
  }

  /** @internal The schema of events named `name`, for the worker (see `EventSchemasRegistrar`). */
  schemaOf(name: string): EventSchema | undefined {
    return this.validators.schemaOf(name);
  }

  /** Whether any listener (in-process or queued) matches the event name. */
  hasListeners(name: string): boolean {
    return hasListeners(this.registry, name);
  }

  /** Every registered listener, or those matching `name`, in call order. */
  listeners(name?: string): ListenerSummary[] {
    return summarizeListeners(this.registry, name);
  }
}
