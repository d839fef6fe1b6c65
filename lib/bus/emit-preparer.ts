import type { EventEnvelope } from '../event/event-envelope.js';
import { assertEventName, eventClassOf, getEventClassName } from '../event/event-name.js';
import type { ListenerRegistry, ResolvedListeners } from '../discovery/listener.registry.js';
import type { EventValidators } from '../middleware/event-validators.js';
import type { EmitOptions } from './emit-options.js';
import { createEnvelope, withData } from './event-envelope.factory.js';
import { classVersion } from '../scheduling/event-versions.js';
import { classPriority } from '../queue/job-priority.js';

/** One emit, checked and resolved: what every later step of the emit is handed. */
export interface PreparedEmit {
  readonly envelope: EventEnvelope;
  /** The listeners of the event's name, resolved once for the whole emit. */
  readonly listeners: ResolvedListeners;
  readonly options: EmitOptions | undefined;
}

/**
 * Turns the arguments of an emit into its envelope and its listeners, checking everything
 * first: a bad emit throws before anything is delivered. The listener set is resolved here,
 * once, and handed down. Checks that cannot fail again for a name or class already seen are
 * paid once: an emitted name is checked when it is first resolved (the registry caches only
 * valid names), and an event class's name is read once per class.
 */
export class EmitPreparer {
  private readonly classNames = new WeakMap<Function, string>();
  /** @internal The current version of a named event, once any event is versioned (upcasters). */
  versionOf: ((name: string) => number) | undefined;
  /** Checks of every class event, run at prepare (see `EventBus.addInstanceCheck`). */
  private readonly instanceChecks: ((event: object) => void)[] = [];

  constructor(
    private readonly registry: ListenerRegistry,
    private readonly validators: EventValidators,
  ) {}

  /** Adds a check run on every class event at prepare; returns its remover. */
  addInstanceCheck(check: (event: object) => void): () => void {
    this.instanceChecks.push(check);
    return () => {
      const at = this.instanceChecks.indexOf(check);
      if (at !== -1) this.instanceChecks.splice(at, 1);
    };
  }

  /**
   * @throws typed errors (name, validation, options, payload), before anything is delivered. A
   *   promise (rejecting with `EventValidationError`) only when the event's schema is async: the
   *   caller awaits it before anything is stored or runs; every other emit stays synchronous.
   */
  prepare(
    nameOrEvent: unknown,
    dataOrOptions: unknown,
    maybeOptions: EmitOptions | undefined,
  ): PreparedEmit | Promise<PreparedEmit> {
    if (typeof nameOrEvent !== 'string') {
      return this.prepareClassEvent(nameOrEvent, dataOrOptions as EmitOptions | undefined);
    }
    const listeners = this.registry.resolveEmitted(nameOrEvent);
    // A schema's output (transforms, coercions, defaults) is what every listener receives; the
    // caller's data is what a queue carries (the schema runs again in the worker).
    let data = dataOrOptions;
    let pending: Promise<unknown> | undefined;
    if (this.validators.hasNamed) {
      data = this.validators.checkNamed(nameOrEvent, dataOrOptions);
      if (data instanceof Promise && this.validators.schemaOf(nameOrEvent) !== undefined) {
        pending = data;
        data = dataOrOptions;
      }
    }
    return this.finish(nameOrEvent, data, dataOrOptions, maybeOptions, listeners, 1, pending);
  }

  /** `prepare` of a class instance: its name, checks, version and priority come from its class. */
  private prepareClassEvent(
    event: unknown,
    given: EmitOptions | undefined,
  ): PreparedEmit | Promise<PreparedEmit> {
    const name = this.classEventName(event);
    const checked = this.validators.checkInstance(name, event as object);
    for (const check of this.instanceChecks) check(event as object);
    const pending = checked instanceof Promise ? checked.then(() => event) : undefined;
    const listeners = this.registry.resolve(name);
    // One static read: the class is a named event class (checked just above).
    const version = classVersion((event as { constructor?: Function }).constructor);
    const priority = classPriority(event);
    // The emit option wins; otherwise the class's priority travels as the emit's.
    const options =
      priority !== undefined && given?.priority === undefined ? { ...given, priority } : given;
    return this.finish(name, event, event, options, listeners, version, pending);
  }

  /** The envelope of a checked emit, once its schema's verdict (`pending`) is in when async. */
  private finish(
    name: string,
    data: unknown,
    input: unknown,
    options: EmitOptions | undefined,
    listeners: ResolvedListeners,
    baseVersion: number,
    pending: Promise<unknown> | undefined,
  ): PreparedEmit | Promise<PreparedEmit> {
    const version =
      this.versionOf === undefined ? baseVersion : Math.max(baseVersion, this.versionOf(name));
    // A check below may throw first: the caller then never awaits the schema's verdict.
    pending?.catch(noop);
    const envelope = createEnvelope(name, data, options, input, version);
    if (pending === undefined) return { envelope, listeners, options };
    return pending.then((value) => ({
      envelope: withData(envelope, value, input),
      listeners,
      options,
    }));
  }

  /** The name of a class event, read once per class (the class is also remembered for workers). */
  private classEventName(event: unknown): string {
    const type =
      event !== null && typeof event === 'object'
        ? (Object.getPrototypeOf(event) as { constructor?: unknown } | null)?.constructor
        : undefined;
    const known = typeof type === 'function' ? this.classNames.get(type) : undefined;
    if (known !== undefined) return known;
    const eventClass = eventClassOf(event);
    if (eventClass === undefined) {
      // Throws the precise reason (not a string, a class without a name, ...).
      assertEventName(
        typeof event === 'object' && event !== null
          ? getEventClassName(Object.getPrototypeOf(event)?.constructor)
          : event,
      );
      throw new Error('unreachable');
    }
    const name = getEventClassName(eventClass);
    this.registry.rememberEventClass(name, eventClass);
    this.classNames.set(eventClass, name);
    return name;
  }
}

function noop(): void {}
