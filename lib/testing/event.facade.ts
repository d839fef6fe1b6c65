import type { INestApplicationContext } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { EmitOptions } from '../bus/event-bus.js';
import type {
  EnvelopeFor,
  EventNamePattern,
  ListenerSelector,
  UntypedOnly,
} from '../event/event-map.js';
import { EventAssertionError } from '../errors/event-assertion.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import type { Notification } from '../notifications/notification.js';
import { broadcastMismatch, broadcastRecords, notificationsOn } from './broadcast-report.js';
import { listData, similarNames, times } from './dispatch-report.js';
import { describeListener, listenersOf, quote, toEventRef } from './event-ref.js';
import { fail, matchingRecords, noApplication, session, targetOf } from './event-facade.session.js';
import { facadeState, FakeSession } from './event-facade.state.js';

/** An application or module reference that imports `EventsModule` (what `fake(app)` binds to). */
export type FacadeApplication = INestApplicationContext | ModuleRef;

/** An event class, as assertions accept it. */
export type EventClassRef<T extends object = object> = abstract new (...args: never[]) => T;

/** A predicate over a recorded envelope. */
export type EnvelopePredicate<T> = (event: EventEnvelope<T>, options: EmitOptions) => boolean;

/** A predicate over a recorded envelope typed from the event map (a union for a wildcard). */
export type TypedEnvelopePredicate<E> = (event: E, options: EmitOptions) => boolean;

/**
 * Fakes event dispatch in Nest tests and asserts on what was emitted, like Laravel's
 * `Event::fake()`. While faking, every event emitted on the bound application (by name or class
 * instance, with `emit`, `emitAsync` or `until`, delayed or not) is recorded; a faked event runs
 * no listener, stores no queued job and reaches no transport. A partial fake
 * (`fake(['order.created'])`) holds back only the listed events: the others run normally and are
 * recorded too.
 *
 * The facade acts on the application whose `EventsModule` started last, or on the one passed to
 * `fake(app)`. Call `restore()` after each test.
 *
 * @example
 * beforeEach(() => EventFacade.fake());
 * afterEach(() => EventFacade.restore());
 *
 * it('announces the order', async () => {
 *   await app.get(OrdersService).place('o1');
 *   EventFacade.assertDispatched('order.created', (e) => e.data.id === 'o1');
 *   EventFacade.assertDispatchedTimes('order.created', 1);
 *   EventFacade.assertNotDispatched('order.cancelled');
 * });
 */
export class EventFacade {
  private constructor() {}

  /**
   * Starts faking (replacing any previous fake). With a list of names, patterns (`order.*`) or
   * event classes, fakes only those; with an application or `ModuleRef`, binds to it instead of
   * the application that started last. Called before any application started, it fakes the first
   * one to start, bootstrap events included.
   *
   * @example
   * EventFacade.fake();
   * EventFacade.fake(['order.created', OrderShipped]);
   * EventFacade.fake(app);
   * EventFacade.fake(['order.*'], app);
   */
  static fake(): void;
  static fake(events: readonly ListenerSelector[], app?: FacadeApplication): void;
  static fake(app: FacadeApplication, events?: readonly ListenerSelector[]): void;
  static fake(first?: unknown, second?: unknown): void {
    const events = Array.isArray(first) ? first : Array.isArray(second) ? second : undefined;
    const app = Array.isArray(first) ? second : first;
    let shouldFake: (name: string) => boolean = () => true;
    let fakes: string[] | undefined;
    if (events !== undefined) {
      if (events.length === 0) {
        throw new InvalidOptionError(
          'EventFacade.fake(events)',
          events,
          'a non-empty list of event names, patterns or classes (omit it to fake every event)',
        );
      }
      const refs = (events as unknown[]).map((e) => toEventRef(e, 'EventFacade.fake'));
      fakes = refs.map((r) => r.label);
      const decided = new Map<string, boolean>();
      shouldFake = (name) => {
        let isFaked = decided.get(name);
        if (isFaked === undefined) {
          isFaked = refs.some((r) => r.matches(name));
          decided.set(name, isFaked);
        }
        return isFaked;
      };
    }
    const target = app === undefined ? undefined : targetOf(app);
    facadeState.restore();
    const session = new FakeSession(shouldFake, fakes, target !== undefined);
    facadeState.session = session;
    const bound = target ?? facadeState.latest();
    if (bound) session.attach(bound);
  }

  /** Stops faking: real dispatch is back and the records are dropped. Safe to call any time. */
  static restore(): void {
    facadeState.restore();
  }

  /** The envelopes recorded for an event (all of them without an argument), in emit order. */
  static dispatched<T extends object>(event: EventClassRef<T>): EventEnvelope<T>[];
  static dispatched<T = Record<string, unknown>>(
    ...name: UntypedOnly<[name?: string]>
  ): EventEnvelope<T>[];
  static dispatched<P extends EventNamePattern>(name: P): EnvelopeFor<P>[];
  static dispatched(): EnvelopeFor<'**'>[];
  static dispatched(nameOrClass?: unknown): EventEnvelope[] {
    const records = session('dispatched').records;
    if (nameOrClass === undefined) return records.map((r) => r.envelope);
    const ref = toEventRef(nameOrClass, 'EventFacade.dispatched');
    return records.filter((r) => ref.matches(r.envelope.name)).map((r) => r.envelope);
  }

  /** Asserts the event was dispatched at least once (and once matching `predicate`, if given). */
  static assertDispatched<T extends object>(
    event: EventClassRef<T>,
    predicate?: EnvelopePredicate<T>,
  ): void;
  static assertDispatched<T = Record<string, unknown>>(
    name: UntypedOnly<string>,
    predicate?: EnvelopePredicate<T>,
  ): void;
  static assertDispatched<P extends EventNamePattern>(
    name: P,
    predicate?: TypedEnvelopePredicate<EnvelopeFor<P>>,
  ): void;
  static assertDispatched(nameOrClass: unknown, predicate?: EnvelopePredicate<never>): void {
    const fake = session('assertDispatched');
    const ref = toEventRef(nameOrClass, 'EventFacade.assertDispatched');
    const matching = matchingRecords(fake, ref);
    if (predicate === undefined) {
      if (matching.length > 0) return;
      const similar = similarNames(
        ref.name,
        fake.records.map((r) => r.envelope.name),
      );
      fail(
        fake,
        `Expected ${ref.label} to be dispatched, but it was not.` +
          (similar.length > 0 ? ` Similar names were: ${similar.map(quote).join(', ')}.` : ''),
      );
    }
    if (matching.some((r) => predicate(r.envelope as EventEnvelope<never>, r.options))) return;
    fail(
      fake,
      matching.length === 0
        ? `Expected ${ref.label} to be dispatched matching the predicate, but it was not dispatched at all.`
        : `Expected ${ref.label} to be dispatched matching the predicate, but none of its ` +
            `${matching.length} ${matching.length === 1 ? 'dispatch' : 'dispatches'} matched:` +
            listData(matching),
    );
  }

  /** Asserts the event was dispatched exactly `count` times. */
  static assertDispatchedTimes(nameOrClass: EventNamePattern | EventClassRef, count: number): void {
    const fake = session('assertDispatchedTimes');
    const ref = toEventRef(nameOrClass, 'EventFacade.assertDispatchedTimes');
    assertInteger('EventFacade.assertDispatchedTimes count', count, 0);
    const matching = matchingRecords(fake, ref);
    if (matching.length === count) return;
    fail(
      fake,
      `Expected ${ref.label} to be dispatched ${times(count)}, but it was dispatched ` +
        `${times(matching.length)}${matching.length > 0 ? `:${listData(matching)}` : '.'}`,
    );
  }

  /** Asserts the event was not dispatched (none matching `predicate`, if given). */
  static assertNotDispatched<T extends object>(
    event: EventClassRef<T>,
    predicate?: EnvelopePredicate<T>,
  ): void;
  static assertNotDispatched<T = Record<string, unknown>>(
    name: UntypedOnly<string>,
    predicate?: EnvelopePredicate<T>,
  ): void;
  static assertNotDispatched<P extends EventNamePattern>(
    name: P,
    predicate?: TypedEnvelopePredicate<EnvelopeFor<P>>,
  ): void;
  static assertNotDispatched(nameOrClass: unknown, predicate?: EnvelopePredicate<never>): void {
    const fake = session('assertNotDispatched');
    const ref = toEventRef(nameOrClass, 'EventFacade.assertNotDispatched');
    let hits = matchingRecords(fake, ref);
    if (predicate)
      hits = hits.filter((r) => predicate(r.envelope as EventEnvelope<never>, r.options));
    if (hits.length === 0) return;
    const which = predicate ? ' matching the predicate' : '';
    fail(
      fake,
      `Expected ${ref.label} not to be dispatched${which}, but it was dispatched ` +
        `${times(hits.length)}${which}:${listData(hits)}`,
    );
  }

  /**
   * Asserts that a dispatched `ShouldBroadcast` event would go to `channel` (its name on the
   * wire: `private-orders.1`), `broadcastWhen()` permitting, or that `Broadcaster.broadcast`
   * sent a broadcast named so there. While faking nothing is broadcast.
   *
   * @example
   * EventFacade.assertBroadcast(OrderShipped, 'private-orders.o1');
   */
  static assertBroadcast(nameOrClass: EventNamePattern | EventClassRef, channel: string): void {
    const fake = session('assertBroadcast');
    const ref = toEventRef(nameOrClass, 'EventFacade.assertBroadcast');
    const mismatch = broadcastMismatch(broadcastRecords(fake.records, ref), ref.label, channel);
    if (mismatch !== undefined) fail(fake, mismatch);
  }

  /**
   * Asserts that `Notifier.notify` was called with `channel` (and once matching `predicate`).
   *
   * @example
   * EventFacade.assertNotified('email', (n) => n.template === 'welcome' && n.to === 'u1');
   */
  static assertNotified(
    channel: string,
    predicate?: (notification: Notification) => boolean,
  ): void {
    const fake = session('assertNotified');
    const sent = notificationsOn(fake.records, channel);
    if (sent.length > 0 && (predicate === undefined || sent.some(predicate))) return;
    fail(
      fake,
      sent.length === 0
        ? `Expected a notification on "${channel}", but none was sent on it.`
        : `Expected a notification on "${channel}" matching the predicate, but none of its ${sent.length} did: ` +
            sent.map((n) => `\n  - ${n.template} to ${n.to}`).join(''),
    );
  }

  /** Asserts that no event at all was dispatched while faking. */
  static assertNothingDispatched(): void {
    const fake = session('assertNothingDispatched');
    if (fake.records.length === 0) return;
    fail(
      fake,
      `Expected nothing to be dispatched, but ${fake.records.length} ` +
        `${fake.records.length === 1 ? 'event was' : 'events were'}:${listData(fake.records)}`,
    );
  }

  /**
   * Asserts that a provider class (and method, if given) listens to an event: its `@OnEvent`
   * selectors match the name (wildcards included), queued or not. Works without `fake()`, on the
   * application that started last.
   */
  static assertListening(
    nameOrClass: string | EventClassRef,
    listenerClass: Function,
    methodName?: string,
  ): void {
    const target = facadeState.session?.target ?? facadeState.latest();
    if (!target) throw noApplication('assertListening');
    const ref = toEventRef(nameOrClass, 'EventFacade.assertListening');
    if (typeof listenerClass !== 'function') {
      throw new InvalidOptionError(
        'EventFacade.assertListening listener',
        listenerClass,
        'a class',
      );
    }
    const who = `${listenerClass.name}${methodName === undefined ? '' : `.${methodName}`}`;
    if (methodName !== undefined && typeof listenerClass.prototype?.[methodName] !== 'function') {
      throw new EventAssertionError(
        `Expected ${who} to listen to ${ref.label}, but ${listenerClass.name} has no method "${methodName}".`,
      );
    }
    const listeners = listenersOf(target, ref);
    const isOwn = (d: ListenerDefinition) =>
      d.classRef === listenerClass &&
      (methodName === undefined || d.info.methodName === methodName);
    if (listeners.some(isOwn)) return;
    const own = target.registry.all().filter((d) => d.classRef === listenerClass);
    throw new EventAssertionError(
      `Expected ${who} to listen to ${ref.label}, but it does not.\n  Listeners of ${ref.label}: ` +
        (listeners.length > 0 ? listeners.map(describeListener).join(', ') : 'none') +
        `.\n  ${listenerClass.name} ` +
        (own.length > 0
          ? `listens to: ${own.map((d) => `${d.info.methodName ?? d.id} -> ${d.patterns.join(', ')}`).join('; ')}.`
          : `has no @OnEvent listener in this application (is it in a module's providers?).`),
    );
  }
}
