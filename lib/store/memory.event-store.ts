import { WrongExpectedVersionError } from '../errors/wrong-expected-version.error.js';
import { EventStore, type EventStoreBaseOptions, type StoredRow } from './event-store.js';
import { ExpectedVersion, type AllFilter, type PreparedEvent } from './event-store.types.js';

interface MemoryRow extends StoredRow {
  readonly name: string;
  readonly timestamp: number;
}

// A filtered scan looks at this many pages' worth of rows at most per page, so a rare pattern
// over a long log never blocks the event loop on one huge synchronous scan.
const SCAN_PAGES = 20;

/**
 * The embedded event store: the whole log in this process's memory, lost when it exits. It
 * enforces expected versions and serializes payloads exactly like the durable backends, so code
 * tested against it behaves the same in production. The default when no backend is configured.
 */
export class MemoryEventStore extends EventStore {
  protected readonly pollIntervalMs = 0;
  private readonly log: MemoryRow[] = [];
  private readonly streams = new Map<string, MemoryRow[]>();

  constructor(options: EventStoreBaseOptions = {}) {
    super(options);
  }

  async headPosition(): Promise<number> {
    return this.log.length;
  }

  protected async write(
    streamId: string,
    events: readonly PreparedEvent[],
    expected: ExpectedVersion,
  ): Promise<StoredRow[]> {
    // Check and write in one synchronous run: no other append can interleave.
    const stream = this.streams.get(streamId);
    const actual = stream?.length ?? 0;
    if (
      (expected === ExpectedVersion.NoStream && actual !== 0) ||
      (typeof expected === 'number' && expected !== actual)
    ) {
      throw new WrongExpectedVersionError(streamId, expected, actual);
    }
    const rows: MemoryRow[] = events.map((event, i) => ({
      streamId,
      version: actual + i + 1,
      position: this.log.length + i + 1,
      name: event.name,
      timestamp: event.timestamp,
      payload: event.payload,
    }));
    if (stream) stream.push(...rows);
    else this.streams.set(streamId, rows.slice());
    this.log.push(...rows);
    return rows;
  }

  protected async readStreamRows(
    streamId: string,
    minVersion: number,
    maxVersion: number,
    backwards: boolean,
    limit: number,
  ): Promise<StoredRow[]> {
    const stream = this.streams.get(streamId);
    if (!stream) return [];
    const high = Math.min(maxVersion, stream.length);
    if (backwards) {
      const start = Math.max(minVersion, high - limit + 1);
      return stream.slice(start - 1, high).reverse();
    }
    return stream.slice(minVersion - 1, Math.min(high, minVersion - 1 + limit));
  }

  protected async readAllRows(
    fromPosition: number,
    filter: AllFilter,
    limit: number,
  ): Promise<{ rows: StoredRow[]; nextPosition: number; isEnd: boolean }> {
    const end = Math.min(this.log.length, filter.toPosition ?? Number.MAX_SAFE_INTEGER);
    const scanEnd = Math.min(end, fromPosition - 1 + limit * SCAN_PAGES);
    const rows: StoredRow[] = [];
    let index = fromPosition - 1;
    for (; index < scanEnd && rows.length < limit; index++) {
      const row = this.log[index];
      if (filter.since !== undefined && row.timestamp < filter.since) continue;
      if (filter.until !== undefined && row.timestamp > filter.until) continue;
      if (filter.matches !== undefined && !filter.matches(row.name)) continue;
      rows.push(row);
    }
    return { rows, nextPosition: index + 1, isEnd: index >= end };
  }

  protected async readStreamVersion(streamId: string): Promise<number> {
    return this.streams.get(streamId)?.length ?? 0;
  }

  protected async release(): Promise<void> {}
}
