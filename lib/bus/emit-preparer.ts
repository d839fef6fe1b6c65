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
    let name: string;
    let data: unknown;
    let options: EmitOptions | undefined;
    let listeners: ResolvedListeners;
    // What the caller gave: what a queue carries (the schema runs again in the worker).
    let input: unknown;
    let pending: Promise<unknown> | undefined;
    let version = 1;
    if (typeof nameOrEvent === 'string') {
      name = nameOrEvent;
      listeners = this.registry.resolveEmitted(name);
      options = maybeOptions;
      input = data = dataOrOptions;
      // A schema's output (transforms, coercions, defaults) is what every listener receives.
      if (this.validators.hasNamed) {
        data = this.validators.checkNamed(name, input);
        if (data instanceof Promise && this.validators.schemaOf(name) !== undefined) {
          pending = data;
          data = input;
        }
      }
    } else {
      name = this.classEventName(nameOrEvent);
      const checked = this.validators.checkInstance(name, nameOrEvent as object);
      for (const check of this.instanceChecks) check(nameOrEvent as object);
      if (checked instanceof Promise) pending = checked.then(() => nameOrEvent);
      listeners = this.registry.resolve(name);
      input = data = nameOrEvent;
      options = dataOrOptions as EmitOptions | undefined;
      // One static read: the class is a named event class (checked just above).
      version = classVersion((nameOrEvent as { constructor?: Function }).constructor);
      const priority = classPriority(nameOrEvent);
      // The emit option wins; otherwise the class's priority travels as the emit's.
      if (priority !== undefined && options?.priority === undefined) {
        options = { ...options, priority };
      }
    }
    if (this.versionOf !== undefined) version = Math.max(version, this.versionOf(name));
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
