import type { NewEvent, StoredEvent } from './event-store.types.js';
import { assertStreamId } from './event-store.validation.js';
import { assertEventName } from '../event/event-name.js';

/** An event as an aggregate's appliers see it: stored ones also carry version and position. */
export interface AggregateEvent<T = unknown> {
  readonly name: string;
  readonly data: T;
  readonly metadata: Readonly<Record<string, string>>;
  /** Its version in the stream; absent for an event raised but not saved yet. */
  readonly version?: number;
}

/**
 * One applier per event name: given the state and the event's data, returns the next state.
 *
 * @typeParam S the aggregate's state.
 * @typeParam E event names mapped to their data types.
 */
export type AggregateAppliers<S, E extends object> = {
  readonly [K in keyof E & string]: (state: S, data: E[K], event: AggregateEvent<E[K]>) => S;
};

/**
 * An event-sourced aggregate: its state is the fold of its stream's events through `apply`, and
 * its methods `raise` new events, applied at once and appended by `AggregateRepository.save`
 * with the loaded version as `expectedVersion` (a concurrent change makes the save fail with
 * `WrongExpectedVersionError` instead of being lost). Events of names without an applier (added
 * by a newer version of the code) leave the state as it is.
 *
 * @typeParam S the state.
 * @typeParam E event names mapped to their data types.
 *
 * @example
 * type OrderEvents = { 'order.placed': { total: number }; 'order.paid': { amount: number } };
 * class Order extends Aggregate<{ status: string; due: number }, OrderEvents> {
 *   protected initialState() { return { status: 'new', due: 0 }; }
 *   protected readonly apply: AggregateAppliers<{ status: string; due: number }, OrderEvents> = {
 *     'order.placed': (state, data) => ({ status: 'placed', due: data.total }),
 *     'order.paid': (state, data) => ({ status: 'paid', due: state.due - data.amount }),
 *   };
 *   pay(amount: number) {
 *     if (this.state.status !== 'placed') throw new Error('not payable');
 *     this.raise('order.paid', { amount });
 *   }
 * }
 */
export abstract class Aggregate<S, E extends object = Record<string, unknown>> {
  /** The aggregate's stream id. */
  readonly id: string;
  private current: { state: S } | undefined;
  private savedVersion = 0;
  private readonly pending: NewEvent[] = [];

  constructor(id: string) {
    assertStreamId(id);
    this.id = id;
  }

  /** The state before any event. */
  protected abstract initialState(): S;

  /** How each event changes the state. */
  protected abstract readonly apply: AggregateAppliers<S, E>;

  /** The current state: every stored event, then every raised one, applied in order. */
  get state(): S {
    this.current ??= { state: this.initialState() };
    return this.current.state;
  }

  /** The stream's version when loaded or last saved: the next save's expected version. */
  get version(): number {
    return this.savedVersion;
  }

  /** Events raised since the aggregate was loaded or saved. */
  get uncommittedEvents(): readonly NewEvent[] {
    return this.pending;
  }

  /** Applies a new event and keeps it until `AggregateRepository.save`. */
  protected raise<K extends keyof E & string>(
    name: K,
    data: E[K],
    metadata?: Record<string, string>,
  ): void {
    assertEventName(name);
    this.fold({ name, data, metadata: metadata ?? {} });
    this.pending.push({ name, data, metadata });
  }

  /** @internal Applies a stored event while loading. */
  loadEvent(event: StoredEvent): void {
    this.fold(event);
    this.savedVersion = event.version;
  }

  /** @internal Called by the repository once the raised events are stored. */
  markSaved(version: number): void {
    this.pending.length = 0;
    this.savedVersion = version;
  }

  private fold(event: AggregateEvent): void {
    // Names are checked when raised; a stored name may be one this code has no applier for.
    const appliers = this.apply as unknown as Record<
      string,
      ((state: S, data: unknown, event: AggregateEvent) => S) | undefined
    >;
    const applier = Object.prototype.hasOwnProperty.call(appliers, event.name)
      ? appliers[event.name]
      : undefined;
    const state = this.state;
    if (applier) this.current = { state: applier(state, event.data, event) };
  }
}
