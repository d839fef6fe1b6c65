import type { EmitOptions, EventBus } from '../bus/event-bus.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import type { EventEnvelope } from '../event/event-envelope.js';

/** One application's events module, as the facade sees it. */
export interface FacadeTarget {
  readonly bus: EventBus;
  readonly registry: ListenerRegistry;
  /** Start order of the application, for messages ("application #2"). */
  readonly seq: number;
}

/** One event seen while faking. */
export interface DispatchRecord {
  readonly envelope: EventEnvelope;
  readonly kind: 'emit' | 'emitAsync' | 'until';
  /** The emit's options (`delay`, `metadata`), `{}` when none were given. */
  readonly options: EmitOptions;
  /** True when the fake took the event; false when it ran normally (a partial fake). */
  readonly isFaked: boolean;
}

/** The current `EventFacade.fake()`: what it fakes, where, and what it recorded. */
export class FakeSession {
  readonly records: DispatchRecord[] = [];
  private attached: FacadeTarget | undefined;

  /**
   * @param shouldFake decides per event name whether the fake takes it.
   * @param fakes what was passed to `fake()`, for messages; undefined for a full fake.
   * @param isExplicit bound with `fake(app)`: never moves to another application.
   */
  constructor(
    readonly shouldFake: (name: string) => boolean,
    readonly fakes: readonly string[] | undefined,
    readonly isExplicit: boolean,
  ) {}

  get target(): FacadeTarget | undefined {
    return this.attached;
  }

  attach(target: FacadeTarget): void {
    this.attached = target;
    target.bus.setInterceptor((envelope, kind, options) => {
      const isFaked = this.shouldFake(envelope.name);
      this.records.push({ envelope, kind, isFaked, options: { ...options } });
      return isFaked;
    });
  }

  detach(): void {
    this.attached?.bus.setInterceptor(undefined);
  }
}

/**
 * The facade's only state (STYLE: static API, state in one holder): the running applications in
 * start order, and the current fake. `restore()` clears the fake; applications leave on shutdown.
 */
class EventFacadeState {
  private readonly targets: FacadeTarget[] = [];
  private seq = 0;
  session: FakeSession | undefined;

  nextSeq(): number {
    return ++this.seq;
  }

  /** Called when an application's events module starts. */
  register(target: FacadeTarget): void {
    if (!this.targets.includes(target)) this.targets.push(target);
    // fake() called before any application started: the first one to start gets it, so events
    // emitted during its bootstrap are faked too.
    const session = this.session;
    if (session && !session.target && !session.isExplicit) session.attach(target);
  }

  /** Called when an application shuts down; its records stay readable until `restore()`. */
  unregister(target: FacadeTarget): void {
    const index = this.targets.indexOf(target);
    if (index >= 0) this.targets.splice(index, 1);
  }

  /** How many applications with EventsModule run (for the test suite's leak check). */
  get running(): number {
    return this.targets.length;
  }

  /** The application whose events module started last and still runs. */
  latest(): FacadeTarget | undefined {
    return this.targets[this.targets.length - 1];
  }

  restore(): void {
    this.session?.detach();
    this.session = undefined;
  }
}

/** @internal The single holder of the facade's state. */
export const facadeState = new EventFacadeState();
