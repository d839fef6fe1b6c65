import type { EventEnvelope } from '../event/event-envelope.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import { compilePattern } from '../discovery/pattern-trie.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { EventStore } from './event-store.js';
import { ExpectedVersion } from './event-store.types.js';
import { assertStreamId } from './event-store.validation.js';

const MAX_CACHED_NAMES = 10_000;

/**
 * Appends emitted events to the store (`forRoot({ store: { record } })`). Appends run one after
 * the other in emit order, so positions and stream versions follow the order of `emit` calls in
 * this process, even when they are not awaited.
 */
export class EventRecorder {
  private readonly patterns: readonly ((name: string) => boolean)[] | undefined;
  private readonly decided = new Map<string, boolean>();
  private tail: Promise<unknown> = Promise.resolve();

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
    if (!this.matches(envelope.name)) return undefined;
    const streamId = this.options.store.streamId(envelope);
    assertStreamId(streamId);
    const prepared = {
      id: envelope.id,
      name: envelope.name,
      timestamp: envelope.timestamp,
      payload: serializeEnvelope(envelope, this.options.maxPayloadBytes),
    };
    const appended = this.tail.then(() =>
      this.store.appendPrepared(streamId, [prepared], ExpectedVersion.Any),
    );
    // The chain only orders appends: one failure is its emitter's, not the next event's.
    this.tail = appended.catch(() => undefined);
    return appended.then(() => undefined);
  }

  private matches(name: string): boolean {
    if (this.patterns === undefined) return true;
    let matched = this.decided.get(name);
    if (matched === undefined) {
      matched = this.patterns.some((match) => match(name));
      if (this.decided.size >= MAX_CACHED_NAMES) this.decided.clear();
      this.decided.set(name, matched);
    }
    return matched;
  }
}
