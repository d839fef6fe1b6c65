import type { DeadJob } from '../queue/dead-job.js';
import type { QueueCounts } from '../queue/queue-job.js';
import type { QueueMinute } from '../queue/queue-history.js';
import type { SagaInfo } from '../sagas/saga-definition.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { showEvent, shown, type ShownEvent, type ShownValue } from './payload-view.js';

/** Redaction paths, split. */
export type RedactPaths = readonly (readonly string[])[];

/** One row of `GET api/queues`. */
export interface QueueRow {
  readonly name: string;
  readonly counts: QueueCounts;
  readonly isPaused: boolean;
  /** How long the oldest waiting job has waited (ms). */
  readonly lagMs: number;
  /** Attempts that completed and failed in the last whole minute. */
  readonly lastMinute: { readonly completed: number; readonly failed: number };
}

/** A dead job as the dashboard shows it. */
export interface DeadJobView {
  readonly id: string;
  readonly listener: string;
  readonly attempts: number;
  readonly reason: string;
  readonly error: string;
  /** The first lines of the stack. */
  readonly stackHead: string | undefined;
  readonly enqueuedAt: number;
  readonly failedAt: number;
  /** The tags of its event (`tags()` of a class event). */
  readonly tags: readonly string[];
  /** The event, or undefined when its payload does not parse (then `raw` shows it). */
  readonly event: ShownEvent | undefined;
  readonly raw: ShownValue | undefined;
}

const STACK_LINES = 6;

/** A dead job with its payload redacted and cut. */
export function deadJobView(job: DeadJob, redact: RedactPaths): DeadJobView {
  return {
    id: job.id,
    listener: job.listener,
    attempts: job.attempts,
    reason: job.reason,
    error: job.error,
    stackHead: job.stack?.split('\n').slice(0, STACK_LINES).join('\n'),
    enqueuedAt: job.enqueuedAt,
    failedAt: job.failedAt,
    tags: job.tags,
    event: job.payload && showEvent(job.payload, redact),
    // An unparsed payload cannot be redacted field by field: only its size is shown.
    raw: job.payload ? undefined : shown(`[${job.rawPayload.length} characters, not parsed]`),
  };
}

/** A saga as the dashboard shows it: input and state redacted and cut. */
export function sagaView(saga: SagaInfo, redact: RedactPaths) {
  const { input, state, ...rest } = saga;
  return { ...rest, input: shownData(input, redact), state: shownData(state, redact) };
}

function shownData(value: unknown, redact: RedactPaths): ShownValue {
  return showEvent({ id: '', name: '', timestamp: 0, metadata: {}, data: value }, redact).data;
}

/** The last whole minute of a history (the current minute is still filling). */
export function lastWholeMinute(history: readonly QueueMinute[]): QueueRow['lastMinute'] {
  const minute = history.length >= 2 ? history[history.length - 2] : undefined;
  return { completed: minute?.completed ?? 0, failed: minute?.failed ?? 0 };
}

/** Dead letters (and groups) per page when `limit` is not given, and the most one page may ask for. */
export const DEAD_PAGE = 50;
export const MAX_DEAD_PAGE = 10_000;

/**
 * The limit to ask for: one more than the page's, so that the answer tells whether a next page
 * exists (a limit out of range is passed as it is, for `EventQueues` to refuse).
 */
export function probeLimit(limit: number): number {
  return limit >= 1 && limit < MAX_DEAD_PAGE ? limit + 1 : limit;
}

/** The `tag` query parameter: undefined when absent; empty or repeated is refused (400). */
export function queryTag(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new InvalidOptionError('tag', raw, 'one non-empty tag');
  }
  return raw;
}

/**
 * A query parameter as an integer: undefined when absent; anything but decimal digits (or a
 * repeated parameter) is refused naming the parameter (400).
 */
export function queryInteger(name: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) {
    throw new InvalidOptionError(name, raw, 'a non-negative integer');
  }
  return Number(raw);
}
