import type { EventEnvelope } from './event-envelope.js';

/**
 * The application's events: names to payload types. Empty in the library; declare yours once by
 * module augmentation and every emit, listener, stream, fake and client call is checked
 * against it. Left empty, names are plain strings and payloads `unknown` (the untyped mode).
 *
 * @example
 * declare module 'nestjs-events' {
 *   interface EventMap {
 *     'order.created': { id: string; total: number };
 *     'order.shipped': OrderShipped; // a class event
 *     'user.registered': SchemaOutput<typeof UserRegistered>; // from a Standard Schema
 *   }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EventMap {}

/**
 * Switches of the typed mode, declared by module augmentation like `EventMap`.
 * `allowUnmappedNames: true` lets names outside the map through (typed `unknown`), for apps
 * that add the map gradually.
 *
 * @example
 * declare module 'nestjs-events' {
 *   interface EventTypeOptions { allowUnmappedNames: true }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EventTypeOptions {}

/**
 * What an emit of a name accepts, where it differs from what listeners get: the input of a schema
 * whose transforms change the type (`z.iso.datetime().transform((s) => new Date(s))` is emitted
 * with a string, listened to as a `Date`). Declared like `EventMap`, from the same schemas with
 * `EventInputMapOf`; names left out are emitted with their `EventMap` type.
 *
 * @example
 * declare module 'nestjs-events' {
 *   interface EventMap extends EventMapOf<typeof schemas> {}
 *   interface EventInputMap extends EventInputMapOf<typeof schemas> {}
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EventInputMap {}

/** The names declared in `EventMap`. */
export type MappedEventName = keyof EventMap & string;

/** `true` once `EventMap` has at least one entry. */
export type IsTypedEvents = [MappedEventName] extends [never] ? false : true;

type AllowsUnmapped = EventTypeOptions extends { allowUnmappedNames: true } ? true : false;

/** `T` in the untyped mode, `never` once the map is declared (hides untyped overloads). */
export type UntypedOnly<T> = IsTypedEvents extends true ? never : T;

/** A name `emit` accepts: any string untyped; the mapped names once the map is declared. */
export type TypedEventName = IsTypedEvents extends true
  ? AllowsUnmapped extends true
    ? MappedEventName | (string & {})
    : MappedEventName
  : string;

/** A pattern with a `*` or `**` segment. */
export type WildcardPattern = `${string}*${string}`;

/** A pattern listeners, streams and fakes accept: a name, or a wildcard pattern. */
export type EventNamePattern = IsTypedEvents extends true
  ? TypedEventName | WildcardPattern
  : string;

/** The payload type of the event named `N` (`unknown` for a name outside the map). */
export type EventPayload<N extends string> = N extends MappedEventName ? EventMap[N] : unknown;

/** What an emit of `N` takes: its `EventInputMap` entry if declared, else its payload type. */
export type EmitPayload<N extends string> = N extends keyof EventInputMap
  ? EventInputMap[N]
  : EventPayload<N>;

/** The envelope of one mapped event, `name` narrowed to its literal (distributes over unions). */
export type MappedEnvelope<N extends string> = N extends MappedEventName
  ? EventEnvelope<EventMap[N], N>
  : never;

/** Only `**` segments left (they may match zero segments). */
type OnlyGlobstars<P extends string> = P extends '**'
  ? true
  : P extends `**.${infer R}`
    ? OnlyGlobstars<R>
    : false;

/** Whether the pattern `P` matches the concrete name `N`, segment by segment. */
export type PatternMatches<P extends string, N extends string> = P extends `${infer H}.${infer R}`
  ? H extends '**'
    ? PatternMatches<R, N> extends true
      ? true
      : N extends `${string}.${infer NR}`
        ? PatternMatches<P, NR>
        : false
    : N extends `${infer NH}.${infer NR}`
      ? H extends '*' | NH
        ? PatternMatches<R, NR>
        : false
      : H extends '*' | N
        ? OnlyGlobstars<R>
        : false
  : P extends '**'
    ? true
    : P extends '*'
      ? N extends `${string}.${string}`
        ? false
        : true
      : N extends P
        ? true
        : false;

// The map's names seen as a tree, one node per prefix `D` (`''` at the root, else ending with a
// dot) holding the names `U` under it. Each alias below is instantiated once per node and cached,
// shared by every pattern that reaches the node: a pattern walks only the branches it can match
// instead of testing every mapped name (200 wildcard listeners over 500 names: 2.4M type
// instantiations down to 0.7M).

/** The segments one level below the node: the next segment of each name of `U` after `D`. */
type Segments<U extends string, D extends string> = U extends `${D}${infer R}`
  ? R extends `${infer H}.${string}`
    ? H
    : R
  : never;

/** The names of `U` grouped by their segment after `D` (the name `D` + segment included). */
type ByChild<U extends string, D extends string> = { [N in U as Segments<N, D>]: N };

/** The names of `U` under the child segment `S` of the node `D`. */
type Under<U extends string, D extends string, S extends string> =
  ByChild<U, D> extends Record<S, infer V extends string> ? V : never;

/** The names the rest `P` of a pattern matches at the node `U`/`D`, segment by segment. */
type Match<P extends string, U extends string, D extends string> = P extends `${infer H}.${infer R}`
  ? H extends '**'
    ? R extends WildcardPattern
      ? Match<R, U, D> | EachChild<P, U, D, Segments<U, D>>
      : EndingWith<U, D, R>
    : H extends '*'
      ? EachChild<R, U, D, Segments<U, D>>
      : H extends Segments<U, D>
        ? Descend<R, Under<U, D, H>, `${D}${H}`>
        : never
  : P extends '**'
    ? U
    : P extends '*'
      ? Leaves<U, D, Segments<U, D>>
      : `${D}${P}` extends U
        ? `${D}${P}`
        : never;

/** `**.R` at the node `D` when `R` is all literal segments: the names of `U` that end with `R`. */
type EndingWith<U extends string, D extends string, R extends string> = U extends
  `${D}${R}` | `${D}${string}.${R}`
  ? U
  : never;

/** The rest `R` of a pattern matched under each child `S` of a node (distributes over `S`). */
type EachChild<R extends string, U extends string, D extends string, S extends string> = S extends S
  ? Descend<R, Under<U, D, S>, `${D}${S}`>
  : never;

/**
 * The rest `R` of a pattern matched at the child node named `N` holding the names `U`. A leaf
 * (`U` is just `N`) is answered without walking it: only `**` segments can match there.
 */
type Descend<R extends string, U extends string, N extends string> = [U] extends [N]
  ? OnlyGlobstars<R> extends true
    ? N
    : never
  : Match<R, U, `${N}.`>;

/** The mapped names one segment below a node. */
type Leaves<U extends string, D extends string, S extends string> = S extends S
  ? `${D}${S}` extends U
    ? `${D}${S}`
    : never
  : never;

/** The mapped names a pattern matches (the name itself for an exact pattern). */
export type NamesMatching<P extends string> = P extends WildcardPattern
  ? Match<P, MappedEventName, ''>
  : P extends MappedEventName
    ? P
    : P & MappedEventName;

/**
 * What a listener of `P` receives: untyped `EventEnvelope` without a map; with one, the union of
 * the envelopes of every mapped event `P` matches, discriminated by `name`.
 */
export type EnvelopeFor<P extends string, Unmapped = EventEnvelope> = IsTypedEvents extends true
  ? AllowsUnmapped extends true
    ? MappedEnvelope<NamesMatching<P>> | (P extends MappedEventName ? never : Unmapped)
    : MappedEnvelope<NamesMatching<P>>
  : EventEnvelope;

/** `[data, options?]` of an emit of `N`: data may be left out only when the payload allows `undefined`. */
export type EmitArgs<N extends string, O, T = unknown> = IsTypedEvents extends true
  ? N extends MappedEventName
    ? undefined extends EmitPayload<N>
      ? [data?: EmitPayload<N>, options?: O]
      : [data: EmitPayload<N>, options?: O]
    : [data?: unknown, options?: O]
  : [data?: T, options?: O];

/** The envelope an emit of `N` with data `T` resolves to. */
export type EmittedEnvelope<N extends string, T> = IsTypedEvents extends true
  ? N extends MappedEventName
    ? EventEnvelope<EventMap[N], N>
    : EventEnvelope<T>
  : EventEnvelope<T>;

/** Instances of a class event: its type, and its `static eventName` literal when declared. */
type ClassEnvelope<C> = C extends abstract new (...args: never[]) => infer I
  ? C extends { readonly eventName: infer N extends string }
    ? EventEnvelope<I, N>
    : EventEnvelope<I>
  : never;

/**
 * The envelope of what a decorator was told it serves (`@ShouldQueue<'order.*'>`,
 * `Idempotent<'order.created'>`): `ListenerEnvelope<S>`, or the untyped `EventEnvelope` when
 * `S` is left out.
 */
export type SelectedEnvelope<S> = [S] extends [never] ? EventEnvelope : ListenerEnvelope<S>;

/** One thing `@OnEvent` listens to: a pattern or an event class. */
export type ListenerSelector = EventNamePattern | (abstract new (...args: never[]) => object);

/**
 * What a listener of `S` (a selector or a list of them) receives: the union over the list.
 * `Unmapped` stands for names outside the map (with `allowUnmappedNames`).
 */
export type ListenerEnvelope<S, Unmapped = EventEnvelope> = S extends readonly (infer E)[]
  ? SelectorEnvelope<E, Unmapped>
  : SelectorEnvelope<S, Unmapped>;

type SelectorEnvelope<S, Unmapped> = S extends string
  ? EnvelopeFor<S, Unmapped>
  : S extends abstract new (...args: never[]) => object
    ? ClassEnvelope<S>
    : never;

/**
 * One envelope whose `data` and `name` are the unions of those of `E` (what a wildcard's `filter` gets). Every member of `E` is
 * assignable to it, so a method that accepts it accepts `E`; checking it first is one comparison
 * instead of one per member (what keeps 200 wildcard listeners over 500 events fast to compile).
 */
export type CollapsedEnvelope<E> = [E] extends [EventEnvelope<infer D, infer N>]
  ? EventEnvelope<D, N>
  : never;

/**
 * A method decorator that refuses methods whose first parameter cannot take `E`; the plain
 * `MethodDecorator` in the untyped mode.
 */
export type ListenerDecorator<E> = IsTypedEvents extends true
  ? <
      M extends
        | ((event: CollapsedEnvelope<E>, ...rest: never[]) => unknown)
        | ((event: E, ...rest: never[]) => unknown),
    >(
      target: object,
      propertyKey: string | symbol,
      descriptor: TypedPropertyDescriptor<M>,
    ) => void
  : MethodDecorator;

/** Payloads of the mapped events that are class instances (what `emit(instance)` accepts). */
export type MappedClassEvent = IsTypedEvents extends true
  ? AllowsUnmapped extends true
    ? object
    : Extract<EventMap[MappedEventName], object>
  : object;

/**
 * The event types of an `@EventPattern` handler of `P`, for Nest's typed overload:
 * `@EventPattern<EventPatternTypes<'order.created'>>('order.created', extras)` checks the name
 * (or pattern) against the map and the handler's `@Payload()` parameter against the payload (for
 * a wildcard, the union of the payloads it matches). `unknown` payloads in the untyped mode.
 */
export type EventPatternTypes<P extends EventNamePattern> = {
  [K in P]: EnvelopeFor<P>['data'];
};
