import { StaleJobError } from '../../errors/transport.error.js';
import type { DeadJob, ReservedJob } from '../queue-job.js';
import type { StoredQueuedJob } from '../queued-job.js';

/** Splits a receipt (`entry/deliveries`) into its stream entry id and delivery count. */
export function parseReceipt(job: ReservedJob): [string, string] {
  const slash = job.receipt.lastIndexOf('/');
  if (slash < 0) throw new StaleJobError(job.id);
  return [job.receipt.slice(0, slash), job.receipt.slice(slash + 1)];
}

/**
 * Orders stream entry ids (`ms-seq`, decimal, no leading zeros) without parsing them or making
 * substrings (it runs twice per acknowledged job): a longer number is larger, digits of equal
 * length compare as characters.
 */
export function compareEntryIds(a: string, b: string): number {
  if (a === b) return 0;
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  if (dashA !== dashB) return dashA - dashB;
  for (let i = 0; i < dashA; i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : 1;
}

/**
 * Empties every array of a Redis reply once its values were taken out. V8 may allocate a reply's
 * outer arrays straight in the old generation (allocation-site pretenuring: ioredis's decoder
 * makes every array at one site, and some of them live long); such an array, dead or not, keeps
 * what it points to alive through every young-generation GC until the next full one, so a read's
 * entries, field arrays and strings would all be promoted (issue 15: scavenges several times
 * longer than BullMQ's). Cut, those edges no longer count.
 */
export function releaseReply(reply: unknown): void {
  if (!Array.isArray(reply)) return;
  for (const item of reply) releaseReply(item);
  reply.length = 0;
}

/**
 * Reads a stream entry into a job; unknown or missing fields never throw (poison goes on). A job
 * taken from a priority level is one field `j`, its JSON (see TAKE_SCRIPT).
 */
export function toJob(
  queue: string,
  entry: string,
  deliveries: number,
  fields: string[],
): ReservedJob {
  if (fields?.[0] === 'j') return toLevelJob(queue, entry, deliveries, fields[1] ?? '');
  let id = entry;
  let listener = '';
  let payload = '';
  let prior = 0;
  let enqueuedAt = 0;
  let group: string | undefined;
  for (let i = 0; i + 1 < (fields?.length ?? 0); i += 2) {
    const value = fields[i + 1];
    switch (fields[i]) {
      case 'id':
        id = value;
        break;
      case 'l':
        listener = value;
        break;
      case 'p':
        payload = value;
        break;
      case 'a':
        prior = Number(value) || 0;
        break;
      case 't':
        enqueuedAt = Number(value) || 0;
        break;
      case 'g':
        group = value;
        break;
    }
  }
  const attempt = prior + deliveries;
  const receipt = `${entry}/${deliveries}`;
  // Literals rather than a spread for the group: one shape each, no copy.
  return group === undefined
    ? { id, queue, listener, payload, attempt, enqueuedAt, receipt }
    : { id, queue, listener, payload, attempt, enqueuedAt, receipt, group };
}

/**
 * A job taken from a priority level (stream entry `entry`): its level's JSON {id, l, p, a, t, ...}.
 * Unreadable, its text is the payload (and the entry id its id), so that the worker dead-letters
 * it with a reason.
 */
export function toLevelJob(
  queue: string,
  entry: string,
  deliveries: number,
  json: string,
): ReservedJob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    // Left undefined: dead-lettered as malformed, its text as the payload.
  }
  const receipt = `${entry}/${deliveries}`;
  if (parsed === null || typeof parsed !== 'object') {
    return {
      id: entry,
      queue,
      listener: '',
      payload: json,
      attempt: deliveries,
      enqueuedAt: 0,
      receipt,
    };
  }
  const job = parsed as Record<string, unknown>;
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    id: text(job.id) || entry,
    queue,
    listener: text(job.l),
    payload: text(job.p),
    attempt: (Number(job.a) || 0) + deliveries,
    enqueuedAt: Number(job.t) || 0,
    receipt,
  };
}

/**
 * Reads a dead-letter stream entry into a dead job. `info` is its JSON from the dead info hash
 * (attempts, times, reason, error, stack); an entry written before that hash carries them as
 * fields, and one whose info is gone (retried meanwhile) lists without them.
 */
export function toDeadJob(
  queue: string,
  entry: string,
  fields: string[],
  info?: string | null,
): DeadJob {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
  if (info) {
    for (const [key, value] of Object.entries(parseDeadInfo(info))) f.set(key, value);
  }
  const dead: DeadJob = {
    id: f.get('id') || entry,
    queue,
    listener: f.get('l') ?? '',
    payload: f.get('p') ?? '',
    attempts: Number(f.get('a')) || 0,
    reason: f.get('r') ?? '',
    error: f.get('e') ?? '',
    stack: f.get('s') || undefined,
    enqueuedAt: Number(f.get('t')) || 0,
    failedAt: Number(f.get('f')) || 0,
  };
  // Written only for a job that ran at a priority other than 0 or with aging.
  const priority = Number(f.get('q')) || 0;
  const agingMs = Number(f.get('ag')) || 0;
  if (priority === 0 && agingMs === 0) return dead;
  return { ...dead, priority, ...(agingMs > 0 && { priorityAgingMs: agingMs }) };
}

/** The string fields of a dead info JSON (`{a, t, r, e, s, f}`); none when it does not parse. */
function parseDeadInfo(info: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(info);
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  if (typeof parsed !== 'object' || parsed === null) return out;
  for (const key of ['a', 't', 'r', 'e', 's', 'f']) {
    const value = (parsed as Record<string, unknown>)[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

/** A stream entry not yet delivered, as listings and watchers show it. */
export function toWaitingJob(queue: string, entry: string, fields: string[]): StoredQueuedJob {
  const job = toJob(queue, entry, 0, fields);
  return {
    id: job.id,
    queue,
    listener: job.listener,
    state: 'waiting',
    payload: job.payload,
    attemptsMade: job.attempt,
    enqueuedAt: job.enqueuedAt,
  };
}
