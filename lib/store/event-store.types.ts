import type { EventEnvelope } from '../event/event-envelope.js';
import type {
  EventMap,
  EventNamePattern,
  EventTypeOptions,
  IsTypedEvents,
  ListenerEnvelope,
  MappedEventName,
} from '../event/event-map.js';

/**
 * Values of `expectedVersion` besides a number: the optimistic concurrency checks of `append`.
 * A stream's version is the number of events in it (0 before the first append).
 */
export const ExpectedVersion = {
  /** Append whatever the stream's version is (no concurrency check). */
  Any: 'any',
  /** Append only if the stream has no event yet. */
  NoStream: 'no_stream',
} as const;

/** What `append` accepts as `expectedVersion`: a version (an integer >= 0), `'any'` or `'no_stream'`. */
export type ExpectedVersion = number | (typeof ExpectedVersion)[keyof typeof ExpectedVersion];

/** One event to append. `id` and `timestamp` are set by the store when left out. */
export interface NewEvent<T = unknown> {
  /** A concrete dot-separated event name such as `order.placed`. */
  readonly name: string;
  /** The payload; read back with the types it was appended with (Date, BigInt, Map, ...). */
  readonly data?: T;
  /** String context (correlation and causation ids, your own keys). @default {} */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The event id. @default a new sortable event id */
  readonly id?: string;
  /** Milliseconds since the epoch. @default Date.now() at append */
  readonly timestamp?: number;
}

/**
 * One event to append once the event map is declared: a mapped name with its payload (`data`
 * may be left out only when the payload allows `undefined`). Distributes over a union of names.
 */
export type MappedNewEvent<N extends MappedEventName = MappedEventName> = N extends unknown
  ? Omit<NewEvent, 'name' | 'data'> & { readonly name: N } & (undefined extends EventMap[N]
        ? { readonly data?: EventMap[N] }
        : { readonly data: EventMap[N] })
  : never;

/**
 * What `append` accepts: any `NewEvent` in the untyped mode (and with `allowUnmappedNames`), a
 * `MappedNewEvent` once the event map is declared.
 */
export type AppendableEvent = IsTypedEvents extends true
  ? EventTypeOptions extends { allowUnmappedNames: true }
    ? NewEvent
    : MappedNewEvent
  : NewEvent;

/** An event as the store keeps it: an envelope with its stream, version and global position. */
export interface StoredEvent<T = unknown, N extends string = string> extends EventEnvelope<T, N> {
  /** The stream it belongs to. */
  readonly streamId: string;
  /**
   * Its version in the stream: 1 for the first event, then one more per event. (The envelope's
   * `version`, the version of the event's shape, is `eventVersion` here.)
   */
  readonly version: number;
  /** The version of the event's shape (the envelope's `version`): absent means 1. */
  readonly eventVersion?: number;
  /** Its place in the whole store: starts at 1, only grows, one per event. */
  readonly position: number;
}

/** Options of `EventStore.append`. */
export interface AppendOptions {
  /**
   * The version the stream must have for the append to happen (optimistic concurrency).
   * @default ExpectedVersion.Any
   */
  expectedVersion?: ExpectedVersion;
}

/** What `append` stored. */
export interface AppendResult {
  readonly streamId: string;
  /** The stream's version after the append (the version of its last event). */
  readonly version: number;
  /** The global position of the last event appended. */
  readonly position: number;
  /** The events as stored, in order. */
  readonly events: readonly StoredEvent[];
}

/** Options of `EventStore.readStream`. Version bounds are inclusive. */
export interface ReadStreamOptions {
  /**
   * The first version to read.
   * @default 1 forwards; the stream's last version backwards
   */
  fromVersion?: number;
  /**
   * The last version to read.
   * @default the stream's last version forwards; 1 backwards
   */
  toVersion?: number;
  /** Newest first. @default false */
  backwards?: boolean;
  /** At most this many events. @default no limit */
  limit?: number;
}

/** A point in time: milliseconds since the epoch, or a `Date`. */
export type TimeBound = number | Date;

/** What a pattern's read gives: `StoredEvent`s of the envelopes of `E` (distributes). */
type StoredOf<E> = E extends EventEnvelope<infer D, infer N> ? StoredEvent<D, N> : never;

/**
 * What a read of `P` (a pattern or a list of them) yields once the event map is declared: the
 * union of the stored events of every mapped name it matches, discriminated by `name`.
 */
export type StoredEventFor<P extends EventNamePattern | readonly EventNamePattern[] = '**'> =
  StoredOf<ListenerEnvelope<P>>;

/** Options of `EventStore.readAll`. Bounds are inclusive. */
export interface ReadAllOptions<P extends string | readonly string[] = string | readonly string[]> {
  /** The first global position to read (a subscription's or replay's checkpoint). @default 1 */
  fromPosition?: number;
  /** The last global position to read. @default the end of the store */
  toPosition?: number;
  /**
   * Only events whose name matches this pattern (or one of these); with the event map, checked
   * against it, and what the read yields is typed by it. @default every event
   */
  pattern?: P;
  /** Only events emitted at or after this time. @default no bound */
  since?: TimeBound;
  /** Only events emitted at or before this time. @default no bound */
  until?: TimeBound;
  /** At most this many events. @default no limit */
  limit?: number;
}

/** Options of `EventStore.subscribe`. */
export interface SubscribeOptions<
  P extends string | readonly string[] = string | readonly string[],
> {
  /**
   * Where to start: a global position (a checkpoint stored earlier), or `'end'` for new events only.
   * @default 1 (the whole history)
   */
  fromPosition?: number | 'end';
  /** Only events whose name matches this pattern (or one of these). @default every event */
  pattern?: P;
  /**
   * Called when the handler throws: the subscription stops at that event (its checkpoint still
   * points at it, so resuming retries it).
   * @default logs the error
   */
  onError?: (error: unknown, event: StoredEvent) => void;
}

/** Handles one event of a subscription; the next event waits for the returned promise. */
export type SubscriptionHandler<T = unknown> = (event: StoredEvent<T>) => unknown;

/** A running subscription. */
export interface EventSubscription {
  /** The position to resume from (`subscribe({ fromPosition: checkpoint })`): after the last handled event. */
  readonly checkpoint: number;
  /** Whether the history is read and the subscription now follows new appends. */
  readonly isLive: boolean;
  /** Resolves once the history up to the subscription's start is handled. */
  readonly caughtUp: Promise<void>;
  /** Resolves when the subscription has stopped (closed, or its handler failed). */
  readonly done: Promise<void>;
  /** The handler's error, when that is why it stopped. */
  readonly error: unknown;
  /** Stops the subscription after the event being handled; resolves when it has stopped. */
  close(): Promise<void>;
}

/** @internal A validated event ready for a backend: the whole envelope serialized as JSON. */
export interface PreparedEvent {
  readonly id: string;
  readonly name: string;
  readonly timestamp: number;
  /** `serializeEnvelope` output (format 2): id, name, metadata, timestamp and the data. */
  readonly payload: string;
}

/** @internal A filter on the global log, already validated. */
export interface AllFilter {
  readonly patterns: readonly string[] | undefined;
  /** The compiled `patterns`; `undefined` when every name matches. */
  readonly matches: ((name: string) => boolean) | undefined;
  readonly since: number | undefined;
  readonly until: number | undefined;
  readonly toPosition: number | undefined;
}

/** @internal One page of the global log. */
export interface AllPage {
  readonly events: StoredEvent[];
  /** The position the next page starts from (past every event scanned, matching or not). */
  readonly nextPosition: number;
  /** Whether the page reached the end of the log (or `toPosition`). */
  readonly isEnd: boolean;
}

/** Options every event store backend accepts. */
export interface EventStoreBaseOptions {
  /**
   * Events fetched per round trip by `readStream`, `readAll`, subscriptions and replay: what
   * bounds their memory.
   * @default 500
   */
  pageSize?: number;
  /**
   * The largest serialized event `append` accepts, in bytes.
   * @default 1048576 (1 MiB)
   */
  maxPayloadBytes?: number;
  /**
   * Finds the class of a class event by its name, so reads give back instances of it.
   * The events module passes its registry of event classes.
   * @default none: class events are read back as plain objects
   */
  eventClass?: (name: string) => Function | undefined;
}

/** @internal A stored row before its payload is parsed. */
export interface StoredRow {
  readonly streamId: string;
  readonly version: number;
  readonly position: number;
  readonly payload: string;
}
