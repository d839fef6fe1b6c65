import type { AllFilter, ReadStreamOptions, StoredEvent, StoredRow } from './event-store.types.js';

/** What the page readers need of a store: its rows, a page size and its decoder. */
export interface PageSource {
  readonly pageSize: number;
  readStreamRows(
    streamId: string,
    minVersion: number,
    maxVersion: number,
    backwards: boolean,
    limit: number,
  ): Promise<StoredRow[]>;
  readAllRows(
    fromPosition: number,
    filter: AllFilter,
    limit: number,
  ): Promise<{ rows: StoredRow[]; nextPosition: number; isEnd: boolean }>;
  decode<T>(row: StoredRow): StoredEvent<T>;
}

/** The events of one stream, a page at a time, forwards or backwards (`readStream`). */
export async function* streamPages<T>(
  source: PageSource,
  streamId: string,
  options: ReadStreamOptions,
): AsyncIterableIterator<StoredEvent<T>> {
  const backwards = options.backwards === true;
  let remaining = options.limit ?? Number.POSITIVE_INFINITY;
  // Forwards: from fromVersion up to toVersion. Backwards: from fromVersion down to toVersion.
  let low = backwards ? (options.toVersion ?? 1) : (options.fromVersion ?? 1);
  let high = backwards
    ? (options.fromVersion ?? Number.MAX_SAFE_INTEGER)
    : (options.toVersion ?? Number.MAX_SAFE_INTEGER);
  while (remaining > 0 && low <= high) {
    const want = Math.min(source.pageSize, remaining);
    const rows = await source.readStreamRows(streamId, low, high, backwards, want);
    for (const row of rows) yield source.decode<T>(row);
    remaining -= rows.length;
    if (rows.length < want) return;
    const last = rows[rows.length - 1].version;
    if (backwards) high = last - 1;
    else low = last + 1;
  }
}

/** Every matching event from `fromPosition` on, a page at a time (`readAll`). */
export async function* allPages<T>(
  source: PageSource,
  fromPosition: number,
  filter: AllFilter,
  limit: number | undefined,
): AsyncIterableIterator<StoredEvent<T>> {
  let position = fromPosition;
  let remaining = limit ?? Number.POSITIVE_INFINITY;
  while (remaining > 0) {
    const want = Math.min(source.pageSize, remaining);
    const page = await source.readAllRows(position, filter, want);
    for (const row of page.rows) yield source.decode<T>(row);
    remaining -= page.rows.length;
    if (page.isEnd) return;
    position = page.nextPosition;
  }
}
