import type { EventEnvelope } from '../event/event-envelope.js';
import { redactPaths } from '../middleware/redact.js';
import { SHOWN_PAYLOAD_BYTES } from './dashboard.constants.js';

/** A value as the dashboard shows it: JSON text, redacted, cut at 10 KiB. */
export interface ShownValue {
  /** JSON text (cut when `isTruncated`). */
  readonly json: string;
  readonly isTruncated: boolean;
}

/** JSON of values JSON.stringify refuses or flattens (bigint, Map, Set); cycles are marked. */
function toJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      if (v !== null && typeof v === 'object') {
        if (seen.has(v)) return '[circular]';
        seen.add(v);
      }
      return v;
    }) ?? 'undefined'
  );
}

/** `value` as JSON, cut at `SHOWN_PAYLOAD_BYTES` bytes (at a character boundary). */
export function shown(value: unknown): ShownValue {
  const json = toJson(value);
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length <= SHOWN_PAYLOAD_BYTES) return { json, isTruncated: false };
  // Decoding a cut buffer may end in a replacement character: drop it.
  const cut = bytes
    .subarray(0, SHOWN_PAYLOAD_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return { json: cut, isTruncated: true };
}

/** An event as the dashboard shows it: its data redacted, then cut. */
export interface ShownEvent {
  readonly id: string;
  readonly name: string;
  readonly timestamp: number;
  readonly metadata: Record<string, string>;
  readonly data: ShownValue;
}

/** Shows an envelope: `redact` paths apply to its data. */
export function showEvent(
  event: EventEnvelope,
  redact: readonly (readonly string[])[],
): ShownEvent {
  return {
    id: event.id,
    name: event.name,
    timestamp: event.timestamp,
    metadata: event.metadata,
    data: shown(redactPaths(event.data, redact)),
  };
}
