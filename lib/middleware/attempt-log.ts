import type { EventEnvelope } from '../event/event-envelope.js';

/**
 * How one attempt ended, as log lines report it: `ok`, `skipped` (a middleware did not call
 * `next`), `released` (`context.release`), `failed`; the worker's own lines add `retry` (a failed
 * attempt that will run again) and `dead` (its last one, dead-lettered).
 */
export type AttemptOutcome = 'ok' | 'skipped' | 'released' | 'failed' | 'retry' | 'dead';

/** The fields of an attempt's log line, in the order they are written. */
export type AttemptFields = Record<string, string | number | unknown>;

/**
 * The fields every attempt line starts with, shared by `Logging` and the worker's own lines:
 * `event`, `id`, `listener`, `attempt`, and `queue` for a queued listener.
 */
export function attemptFields(
  event: EventEnvelope,
  listener: string,
  attempt: number,
  queue: string | undefined,
): AttemptFields {
  const fields: AttemptFields = { event: event.name, id: event.id, listener, attempt };
  if (queue !== undefined) fields.queue = queue;
  return fields;
}

/** The message of an error, as the `error` field carries it. */
export function errorField(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One logfmt value: bare when it is a number or a plain token, else JSON-quoted. */
function logfmtValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return /^[\w.:@/#-]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(toJson(value));
}

/** `key=value` pairs in the fields' order; undefined fields are left out. */
export function toLogfmt(fields: AttemptFields): string {
  let line = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    line += `${line === '' ? '' : ' '}${key}=${logfmtValue(value)}`;
  }
  return line;
}

/**
 * `value` as JSON can write it: a `BigInt` as its decimal string, a `Map` as an object, a `Set`
 * as an array; what cannot be written (a cycle) as `'[unserializable]'`.
 */
export function toJson(value: unknown): unknown {
  try {
    return JSON.parse(
      JSON.stringify(value, (_key, v: unknown) =>
        typeof v === 'bigint'
          ? v.toString()
          : v instanceof Map
            ? Object.fromEntries(v)
            : v instanceof Set
              ? [...v]
              : v,
      ) ?? 'null',
    );
  } catch {
    return '[unserializable]';
  }
}
