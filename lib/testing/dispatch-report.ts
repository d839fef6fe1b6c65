import type { EventEnvelope } from '../event/event-envelope.js';
import type { DispatchRecord } from './event-facade.state.js';

const MAX_SHOWN = 5;
const MAX_DATA_CHARS = 200;

/** `1 time`, `3 times`. */
export function times(count: number): string {
  return `${count} ${count === 1 ? 'time' : 'times'}`;
}

/** An event's data for a message: class name and JSON, shortened, never throwing. */
export function describeData(envelope: EventEnvelope): string {
  const data = envelope.data;
  let text: string;
  try {
    text = data === undefined ? 'undefined' : (JSON.stringify(data) ?? String(data));
  } catch {
    text = '[unserializable]';
  }
  if (text.length > MAX_DATA_CHARS) text = `${text.slice(0, MAX_DATA_CHARS - 3)}...`;
  const ctor = data !== null && typeof data === 'object' ? data.constructor : undefined;
  return ctor && ctor !== Object && ctor !== Array ? `${ctor.name} ${text}` : text;
}

/** Numbered lines with the data of each record (the first few). */
export function listData(records: readonly DispatchRecord[]): string {
  const lines = records
    .slice(0, MAX_SHOWN)
    .map((r, i) => `\n    #${i + 1} ${r.envelope.name} ${describeData(r.envelope)}`);
  if (records.length > MAX_SHOWN) lines.push(`\n    ... and ${records.length - MAX_SHOWN} more`);
  return lines.join('');
}

/** Every name dispatched while faking, with counts, in first-seen order. */
export function summarize(records: readonly DispatchRecord[], isPartial: boolean): string {
  if (records.length === 0) return 'Nothing was dispatched while faking.';
  const counts = new Map<string, { count: number; faked: number }>();
  for (const { envelope, isFaked } of records) {
    const entry = counts.get(envelope.name) ?? { count: 0, faked: 0 };
    entry.count++;
    if (isFaked) entry.faked++;
    counts.set(envelope.name, entry);
  }
  const lines = [...counts].map(([name, { count, faked }]) => {
    let note = '';
    if (isPartial) note = faked === count ? ' (faked)' : faked === 0 ? ' (ran, not faked)' : '';
    return `\n  - ${name} × ${count}${note}`;
  });
  return `Dispatched while faking (${records.length} in all):${lines.join('')}`;
}

/** Dispatched names that look like `name` (same first segment or a small typo away). */
export function similarNames(name: string, names: Iterable<string>): string[] {
  const head = name.split('.')[0];
  const similar = new Set<string>();
  for (const other of names) {
    if (other === name) continue;
    if (other.split('.')[0] === head || editDistance(name, other) <= 2) similar.add(other);
  }
  return [...similar];
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
