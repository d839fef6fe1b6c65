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

/** Reads a stream entry into a job; unknown or missing fields never throw (poison goes on). */
export function toJob(
  queue: string,
  entry: string,
  deliveries: number,
  fields: string[],
): ReservedJob {
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
  const job: ReservedJob = {
    id,
    queue,
    listener,
    payload,
    attempt: prior + deliveries,
    enqueuedAt,
    receipt: `${entry}/${deliveries}`,
  };
  return group === undefined ? job : { ...job, group };
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
