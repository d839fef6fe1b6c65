import type { EventEnvelope } from '../event/event-envelope.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import { compilePattern } from '../discovery/pattern-trie.js';
import { isSystemEvent } from '../event/system-events.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { EventStore } from './event-store.js';
import type { PreparedEvent } from './event-store.types.js';
import { assertStreamId } from './event-store.validation.js';

const MAX_CACHED_NAMES = 10_000;
// Events recorded while an append is in flight are written together by the next one.
const MAX_BATCH = 500;

interface Pending {
  readonly streamId: string;
  readonly event: PreparedEvent;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Appends emitted events to the store (`forRoot({ store: { record } })`). One append runs at a
 * time, and the events emitted meanwhile go together in the next one (one round trip for many
 * emits), so positions and stream versions follow the order of `emit` calls in this process,
 * even when they are not awaited.
 */
export class EventRecorder {
  private readonly patterns: readonly ((name: string) => boolean)[] | undefined;
  private readonly decided = new Map<string, boolean>();
  private pending: Pending[] = [];
  private isFlushing = false;

  constructor(
    private readonly store: EventStore,
    private readonly options: ResolvedEventsOptions,
  ) {
    const record = options.store.record;
    this.patterns = typeof record === 'boolean' ? undefined : record.map(compilePattern);
  }

  /**
   * Records the event when it matches. The payload is serialized (and refused) synchronously;
   * the returned promise settles once the event is in the store. `undefined` when not recorded.
   *
   * @throws UnserializablePayloadError, PayloadTooLargeError, InvalidStreamIdError synchronously.
   */
  record(envelope: EventEnvelope): Promise<void> | undefined {
    const entry = this.prepare(envelope);
    if (entry === undefined) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ ...entry, resolve, reject });
      if (!this.isFlushing) void this.flush();
    });
  }

  /**
   * What `record` appends for the event, checked and serialized now; `undefined` when the event
   * is not recorded. The outbox appends it itself, in the emit's transaction.
   *
   * @throws UnserializablePayloadError, PayloadTooLargeError, InvalidStreamIdError
   */
  prepare(envelope: EventEnvelope): { streamId: string; event: PreparedEvent } | undefined {
    if (!this.matches(envelope.name)) return undefined;
    const streamId = this.options.store.streamId(envelope);
    assertStreamId(streamId);
    const event = {
      id: envelope.id,
      name: envelope.name,
      timestamp: envelope.timestamp,
      payload: serializeEnvelope(envelope, this.options.maxPayloadBytes),
    };
    return { streamId, event };
  }

  private async flush(): Promise<void> {
    this.isFlushing = true;
    while (this.pending.length > 0) {
      const batch =
        this.pending.length <= MAX_BATCH ? this.pending : this.pending.slice(0, MAX_BATCH);
      this.pending = this.pending.length <= MAX_BATCH ? [] : this.pending.slice(MAX_BATCH);
      try {
        await this.store.appendRecorded(batch);
        for (const entry of batch) entry.resolve();
      } catch (error) {
        // The batch is one transaction: every emit in it learns that its event is not stored.
        for (const entry of batch) entry.reject(error);
      }
    }
    this.isFlushing = false;
  }

  private matches(name: string): boolean {
    if (this.patterns === undefined) return !isSystemEvent(name);
    let matched = this.decided.get(name);
    if (matched === undefined) {
      matched = !isSystemEvent(name) && this.patterns.some((match) => match(name));
      if (this.decided.size >= MAX_CACHED_NAMES) this.decided.clear();
      this.decided.set(name, matched);
    }
    return matched;
  }
}
