import { Injectable, Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { EventNamePattern } from '../event/event-map.js';
import { EventContext } from '../event/event-context.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { compilePattern } from '../discovery/pattern-trie.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { ReplayFailedError } from '../errors/replay-failed.error.js';
import { EventStore } from './event-store.js';
import type { StoredEvent, TimeBound } from './event-store.types.js';
import {
  assertOptionalInteger,
  assertOptionsObject,
  assertStreamId,
  toMillis,
  toPatterns,
} from './event-store.validation.js';
import { isReplayable } from './replayable.decorator.js';

/** `replay({ to: REPLAYABLE })`: every listener marked `@Replayable()`. */
export const REPLAYABLE = Symbol('REPLAYABLE');

/**
 * Who receives replayed events: a listener class (all its `@OnEvent` methods), one listener
 * method (`Projection.prototype.onPlaced`), a listener id, or `REPLAYABLE`.
 */
export type ReplayTarget = Function | string | typeof REPLAYABLE;

/** How far a replay has come. */
export interface ReplayProgress {
  /** Stored events read so far. */
  readonly events: number;
  /** Listener calls made so far (an event goes to every chosen listener it matches). */
  readonly deliveries: number;
  /** The position to resume from: `replay({ fromPosition: checkpoint })`. */
  readonly checkpoint: number;
  /** The store's last position when the replay started: where it stops. */
  readonly headPosition: number;
}

/** Options of `EventReplayer.replay`. */
export interface ReplayOptions {
  /** The listeners to deliver to. Required: a replay never reaches every listener by default. */
  to: ReplayTarget | readonly ReplayTarget[];
  /**
   * Only events whose name matches (checked against the event map once it is declared).
   * @default the patterns of the chosen listeners
   */
  pattern?: EventNamePattern | readonly EventNamePattern[];
  /** Only the events of this stream. @default every stream */
  streamId?: string;
  /** Only events emitted at or after this time. @default no bound */
  since?: TimeBound;
  /** Only events emitted at or before this time. @default no bound */
  until?: TimeBound;
  /** Start here: a checkpoint from an earlier replay or its error. @default 1 */
  fromPosition?: number;
  /** Called every `progressEvery` events and once at the end. @default none */
  onProgress?: (progress: ReplayProgress) => void;
  /** How often `onProgress` is called, in events read. @default 1000 */
  progressEvery?: number;
  /** Stops the replay between two events; the result's checkpoint tells where. @default none */
  signal?: AbortSignal;
}

/** What a replay did. */
export interface ReplayResult extends ReplayProgress {
  /** False when `signal` stopped it early. */
  readonly isComplete: boolean;
}

const REPLAY_OPTIONS = [
  'to',
  'pattern',
  'streamId',
  'since',
  'until',
  'fromPosition',
  'onProgress',
  'progressEvery',
  'signal',
];
const NEVER_ABORTED = new AbortController().signal;

/**
 * Re-delivers stored events, in position order, to chosen listeners: rebuild a projection, or
 * feed history to a new or fixed listener. Replayed envelopes carry `metadata.replayed = 'true'`.
 *
 * @example
 * await replayer.replay({ to: OrderSummaryProjection, pattern: 'order.**', onProgress: log });
 */
@Injectable()
export class EventReplayer {
  private readonly logger = new Logger(EventReplayer.name);

  constructor(
    private readonly store: EventStore,
    private readonly registry: ListenerRegistry,
  ) {}

  /**
   * Replays up to the store's last position at the start. A listener that throws stops the
   * replay with `ReplayFailedError`, whose `checkpoint` resumes at that event (listeners earlier
   * in that event's order see it again).
   */
  async replay(options: ReplayOptions): Promise<ReplayResult> {
    assertOptionsObject('replay options', options, REPLAY_OPTIONS);
    if (options === undefined) {
      throw new InvalidOptionError('replay options', options, 'an object with `to`');
    }
    const chosen = this.choose(options.to);
    assertOptionalInteger('fromPosition', options.fromPosition, 1);
    assertOptionalInteger('progressEvery', options.progressEvery, 1);
    if (options.streamId !== undefined) assertStreamId(options.streamId);
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
      throw new InvalidOptionError('onProgress', options.onProgress, 'a function');
    }
    const patterns =
      toPatterns('pattern', options.pattern) ?? toPatterns('to', [...chosen.patterns]);
    const since = toMillis('since', options.since);
    const until = toMillis('until', options.until);
    const fromPosition = options.fromPosition ?? 1;
    const every = options.progressEvery ?? 1000;
    const signal = options.signal ?? NEVER_ABORTED;

    const headPosition = await this.store.headPosition();
    let events = 0;
    let deliveries = 0;
    let checkpoint = fromPosition;
    const progress = (): ReplayProgress => ({ events, deliveries, checkpoint, headPosition });
    const byName = new Map<string, ListenerDefinition[]>();

    let source: AsyncIterable<StoredEvent>;
    if (headPosition === 0) {
      source = filterStream([], () => true);
    } else if (options.streamId !== undefined) {
      const matches = patterns?.map(compilePattern);
      source = filterStream(this.store.readStream(options.streamId), (e) => {
        if (e.position < fromPosition || e.position > headPosition) return false;
        if (since !== undefined && e.timestamp < since) return false;
        if (until !== undefined && e.timestamp > until) return false;
        return !matches || matches.some((m) => m(e.name));
      });
    } else {
      source = this.store.readAll({
        fromPosition,
        toPosition: headPosition,
        pattern: patterns as readonly EventNamePattern[] | undefined,
        since,
        until,
      });
    }

    for await (const stored of source) {
      if (signal.aborted) return { ...progress(), isComplete: false };
      let listeners = byName.get(stored.name);
      if (!listeners) {
        const { inProcess, queued } = this.registry.resolve(stored.name);
        listeners = [...inProcess, ...queued].filter((l) => chosen.ids.has(l.id));
        byName.set(stored.name, listeners);
      }
      const envelope = replayedEnvelope(stored);
      for (const listener of listeners) {
        if (listener.filter !== undefined && !listener.filter(envelope)) continue;
        try {
          await EventContext.runAs(envelope, () =>
            listener.invoke(envelope, {
              signal,
              attempt: 1,
              listener: listener.id,
              queue: listener.queue?.queue,
            }),
          );
        } catch (error) {
          throw new ReplayFailedError(listener.id, stored.id, stored.position, deliveries, error);
        }
        deliveries++;
      }
      events++;
      checkpoint = stored.position + 1;
      if (events % every === 0) options.onProgress?.(progress());
    }
    if (options.streamId === undefined) checkpoint = Math.max(checkpoint, headPosition + 1);
    options.onProgress?.(progress());
    this.logger.log(
      `Replayed ${events} events (${deliveries} deliveries) up to position ${checkpoint - 1}`,
    );
    return { ...progress(), isComplete: true };
  }

  private choose(to: unknown): { ids: Set<string>; patterns: Set<string> } {
    const targets = Array.isArray(to) ? (to as unknown[]) : [to];
    if (to === undefined || targets.length === 0) {
      throw new InvalidOptionError(
        'to',
        to,
        'a listener class, a listener method, a listener id or REPLAYABLE (a replay never reaches every listener by default)',
      );
    }
    const all = this.registry.all();
    const ids = new Set<string>();
    const patterns = new Set<string>();
    for (const target of targets) {
      const found = all.filter((l) => this.selects(target, l));
      if (found.length === 0) {
        throw new InvalidOptionError(
          'to',
          target,
          target === REPLAYABLE
            ? 'at least one listener marked @Replayable()'
            : 'a registered listener class, method or id',
        );
      }
      for (const listener of found) {
        ids.add(listener.id);
        for (const pattern of listener.patterns) patterns.add(pattern);
      }
    }
    return { ids, patterns };
  }

  private selects(target: unknown, listener: ListenerDefinition): boolean {
    const { classRef, info } = listener;
    const method =
      classRef && info.methodName
        ? (classRef.prototype as Record<string, unknown>)[info.methodName]
        : undefined;
    if (target === REPLAYABLE) return isReplayable(classRef, method);
    if (typeof target === 'string') return listener.id === target;
    if (typeof target === 'function') return classRef === target || method === target;
    throw new InvalidOptionError(
      'to',
      target,
      'a listener class, a listener method, a listener id or REPLAYABLE',
    );
  }
}

async function* filterStream(
  source: AsyncIterable<StoredEvent> | Iterable<StoredEvent>,
  keep: (event: StoredEvent) => boolean,
): AsyncIterableIterator<StoredEvent> {
  for await (const event of source) if (keep(event)) yield event;
}

/** The envelope a stored event is replayed as: its own fields, marked `replayed`. */
function replayedEnvelope(stored: StoredEvent): EventEnvelope {
  const envelope: { -readonly [K in keyof EventEnvelope]: EventEnvelope[K] } = {
    id: stored.id,
    name: stored.name,
    data: stored.data,
    metadata: { ...stored.metadata, replayed: 'true' },
    timestamp: stored.timestamp,
  };
  if (stored.eventVersion !== undefined) envelope.version = stored.eventVersion;
  return envelope;
}
