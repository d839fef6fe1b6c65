import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import { deserializeEnvelope } from '../event/event.serializer.js';
import type { EventNamePattern, UntypedOnly } from '../event/event-map.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import {
  ExpectedVersion,
  type AllFilter,
  type AppendableEvent,
  type AppendOptions,
  type AppendResult,
  type EventSubscription,
  type NewEvent,
  type PreparedEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type StoredEventFor,
  type SubscribeOptions,
  type SubscriptionHandler,
  type EventStoreBaseOptions,
  type StoredRow,
} from './event-store.types.js';
import {
  assertExpectedVersion,
  assertOptionalInteger,
  assertOptionsObject,
  assertReadAllOptions,
  assertReadStreamOptions,
  assertStreamId,
  prepareEvent,
  toAllFilter,
} from './event-store.validation.js';
import { StoreSubscriptions } from './store-subscriptions.js';
import { allPages, streamPages, type PageSource } from './store-pages.js';

export type { EventStoreBaseOptions, StoredRow };

const APPEND_OPTIONS = ['expectedVersion'];

/**
 * An append-only log of events grouped in streams (one per aggregate, such as `order-42`), with a
 * global position across all streams. Inject it with `EventStore`; the backend is chosen by
 * `forRoot({ store })` (in memory by default, PostgreSQL when configured).
 *
 * @example
 * const { version } = await store.append('order-42', [{ name: 'order.placed', data: { total: 30 } }], {
 *   expectedVersion: ExpectedVersion.NoStream,
 * });
 * for await (const event of store.readStream('order-42')) console.log(event.version, event.name);
 */
export abstract class EventStore implements OnApplicationShutdown {
  protected readonly logger = new Logger(EventStore.name);
  /** Events per page read. */
  readonly pageSize: number;
  protected readonly maxPayloadBytes: number;
  private readonly eventClass: (name: string) => Function | undefined;
  private readonly subscriptions: StoreSubscriptions;

  private upcast: ((envelope: EventEnvelope) => EventEnvelope) | undefined;
  private versionOf: ((name: string) => number) | undefined;

  protected constructor(options: EventStoreBaseOptions = {}) {
    this.pageSize = options.pageSize ?? 500;
    assertOptionalInteger('store.pageSize', this.pageSize, 1);
    this.maxPayloadBytes = options.maxPayloadBytes ?? 1024 * 1024;
    assertOptionalInteger('store.maxPayloadBytes', this.maxPayloadBytes, 1);
    this.eventClass = options.eventClass ?? (() => undefined);
    this.subscriptions = new StoreSubscriptions({
      pageSize: this.pageSize,
      pollIntervalMs: () => this.pollIntervalMs,
      headPosition: () => this.headPosition(),
      readAllRows: (fromPosition, filter, limit) => this.readAllRows(fromPosition, filter, limit),
      decode: (row) => this.decode(row),
      watching: (isWatched) => this.watching(isWatched),
    });
  }

  /**
   * Appends events to a stream, all or none, after checking `expectedVersion` against the
   * stream's version. Input is validated before anything is written. Once the event map is
   * declared, each event's `name` and `data` are checked against it at compile time.
   *
   * @throws WrongExpectedVersionError (with `actualVersion`) when the stream has moved on.
   * @throws InvalidStreamIdError, InvalidEventNameError, InvalidOptionError,
   *   UnserializablePayloadError, PayloadTooLargeError on bad input.
   */
  async append(
    streamId: string,
    events: AppendableEvent | readonly AppendableEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    assertStreamId(streamId);
    assertOptionsObject('append options', options, APPEND_OPTIONS);
    const expected = options.expectedVersion ?? ExpectedVersion.Any;
    assertExpectedVersion(expected);
    const list = Array.isArray(events) ? (events as readonly NewEvent[]) : [events as NewEvent];
    if (list.length === 0) {
      throw new InvalidOptionError('events', events, 'at least one event to append');
    }
    const now = Date.now();
    const prepared = list.map((event, index) =>
      prepareEvent(event, index, now, this.maxPayloadBytes, this.versionOf),
    );
    return this.appendPrepared(streamId, prepared, expected);
  }

  /**
   * @internal The bus recorder's path: appends events already validated and serialized, each to
   * its own stream with no version check, positioned in the order given.
   */
  async appendRecorded(
    entries: readonly { readonly streamId: string; readonly event: PreparedEvent }[],
  ): Promise<void> {
    await this.writeRecorded(entries);
    this.notifyAppended();
  }

  private async appendPrepared(
    streamId: string,
    events: readonly PreparedEvent[],
    expected: ExpectedVersion,
  ): Promise<AppendResult> {
    const rows = await this.write(streamId, events, expected);
    this.notifyAppended();
    const last = rows[rows.length - 1];
    return {
      streamId,
      version: last.version,
      position: last.position,
      events: rows.map((row) => this.decode(row)),
    };
  }

  /**
   * The events of one stream, in version order (or newest first with `backwards`), fetched a
   * page at a time. A stream that does not exist yields nothing. Once the event map is declared
   * they are typed as the union of the mapped events (`readStream<'order.*'>(id)` narrows it).
   */
  readStream<T = unknown>(
    ...args: UntypedOnly<[streamId: string, options?: ReadStreamOptions]>
  ): AsyncIterableIterator<StoredEvent<T>>;
  readStream<P extends EventNamePattern | readonly EventNamePattern[] = '**'>(
    streamId: string,
    options?: ReadStreamOptions,
  ): AsyncIterableIterator<StoredEventFor<P>>;
  readStream<T = unknown>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): AsyncIterableIterator<StoredEvent<T>> {
    assertStreamId(streamId);
    assertReadStreamOptions(options);
    return streamPages<T>(this.pages(), streamId, options);
  }

  /**
   * Every event of the store in position order, filtered, fetched a page at a time. Once the
   * event map is declared, `pattern` is checked against it and the events are typed by it:
   * `readAll({ pattern: 'order.*' })` yields the union of the mapped `order.*` events.
   */
  readAll<T = unknown>(
    ...options: UntypedOnly<[options?: ReadAllOptions]>
  ): AsyncIterableIterator<StoredEvent<T>>;
  readAll<const P extends EventNamePattern | readonly EventNamePattern[] = '**'>(
    options?: ReadAllOptions<P>,
  ): AsyncIterableIterator<StoredEventFor<P>>;
  readAll<T = unknown>(options: ReadAllOptions = {}): AsyncIterableIterator<StoredEvent<T>> {
    assertReadAllOptions(options);
    const filter = toAllFilter(options);
    return allPages<T>(this.pages(), options.fromPosition ?? 1, filter, options.limit);
  }

  /**
   * Hands every stored event from `fromPosition` on (matching `pattern`) to `handler`, one at a
   * time in position order, then keeps following new appends. Store `subscription.checkpoint`
   * to resume later.
   *
   * @example
   * const subscription = store.subscribe({ fromPosition: saved, pattern: 'order.*' }, async (e) => {
   *   await project(e);
   * });
   * await subscription.caughtUp;
   */
  subscribe<T = unknown>(
    options: UntypedOnly<SubscribeOptions>,
    handler: SubscriptionHandler<T>,
  ): EventSubscription;
  subscribe<const P extends EventNamePattern | readonly EventNamePattern[] = '**'>(
    options: SubscribeOptions<P>,
    handler: (event: StoredEventFor<P>) => unknown,
  ): EventSubscription;
  subscribe<T = unknown>(
    options: SubscribeOptions,
    handler: SubscriptionHandler<T>,
  ): EventSubscription {
    return this.subscriptions.start(options, handler as SubscriptionHandler);
  }

  /** The stream's version: how many events it holds (0 when it does not exist). */
  async streamVersion(streamId: string): Promise<number> {
    assertStreamId(streamId);
    return this.readStreamVersion(streamId);
  }

  /** The position of the last event stored (0 when the store is empty). */
  abstract headPosition(): Promise<number>;

  /** Stops every subscription and releases the backend's resources. */
  async close(): Promise<void> {
    await this.subscriptions.close();
    await this.release();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** How often subscriptions look for appends made elsewhere (ms); 0 when all appends are local. */
  protected abstract readonly pollIntervalMs: number;

  /**
   * Stores the events atomically after checking the expected version; returns their rows.
   * @throws WrongExpectedVersionError
   */
  protected abstract write(
    streamId: string,
    events: readonly PreparedEvent[],
    expected: ExpectedVersion,
  ): Promise<StoredRow[]>;

  /**
   * Stores recorded events (any expected version) in the given order. This default writes each
   * run of one stream in turn; a backend may do all of it in one round trip.
   */
  protected async writeRecorded(
    entries: readonly { readonly streamId: string; readonly event: PreparedEvent }[],
  ): Promise<void> {
    let start = 0;
    while (start < entries.length) {
      let end = start + 1;
      while (end < entries.length && entries[end].streamId === entries[start].streamId) end++;
      await this.write(
        entries[start].streamId,
        entries.slice(start, end).map((e) => e.event),
        ExpectedVersion.Any,
      );
      start = end;
    }
  }

  /** Rows of a stream with a version in [minVersion, maxVersion], ordered, at most `limit`. */
  protected abstract readStreamRows(
    streamId: string,
    minVersion: number,
    maxVersion: number,
    backwards: boolean,
    limit: number,
  ): Promise<StoredRow[]>;

  /** Matching rows from `fromPosition` on, at most `limit`, and where the next page starts. */
  protected abstract readAllRows(
    fromPosition: number,
    filter: AllFilter,
    limit: number,
  ): Promise<{ rows: StoredRow[]; nextPosition: number; isEnd: boolean }>;

  protected abstract readStreamVersion(streamId: string): Promise<number>;

  protected abstract release(): Promise<void>;

  /** Wakes the subscriptions of this process: called after every append this store learns of. */
  protected notifyAppended(): void {
    this.subscriptions.notify();
  }

  /** Called when the first subscription starts watching and when the last one stops. */
  protected watching(_isWatched: boolean): void {}

  /**
   * @internal Appends carry the current version of their event and reads are upcast to it (set at
   * boot once an event is versioned).
   */
  upcastWith(
    upcast: (envelope: EventEnvelope) => EventEnvelope,
    versionOf: (name: string) => number,
  ): void {
    this.upcast = upcast;
    this.versionOf = versionOf;
  }

  protected decode<T>(row: StoredRow): StoredEvent<T> {
    let envelope = deserializeEnvelope(row.payload, this.eventClass) as EventEnvelope<T>;
    if (this.upcast !== undefined) envelope = this.upcast(envelope) as EventEnvelope<T>;
    const stored = {
      ...envelope,
      streamId: row.streamId,
      version: row.version,
      position: row.position,
    } as { -readonly [K in keyof StoredEvent<T>]: StoredEvent<T>[K] };
    if (envelope.version !== undefined) stored.eventVersion = envelope.version;
    return stored;
  }

  /** What the page readers of `store-pages.ts` need of this store. */
  private pages(): PageSource {
    return {
      pageSize: this.pageSize,
      readStreamRows: (streamId, low, high, backwards, limit) =>
        this.readStreamRows(streamId, low, high, backwards, limit),
      readAllRows: (fromPosition, filter, limit) => this.readAllRows(fromPosition, filter, limit),
      decode: (row) => this.decode(row),
    };
  }
}
