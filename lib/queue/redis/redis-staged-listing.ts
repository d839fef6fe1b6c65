import type { StoredQueuedJob } from '../queued-job.js';
import type { RedisClient } from '../../redis/redis-connection.factory.js';
import { toWaitingJob } from './redis-entries.js';
import type { QueueKeys } from './redis-keys.js';

type Entry = [string, string[]];

/** Whether a stream entry is a wake-up entry (see redis-priority-scripts.ts): no job. */
export function isWakeUp([, fields]: Entry): boolean {
  return fields?.[0] === 'w';
}

/**
 * A page of a queue's waiting jobs in the order they start: the priority levels above 0, level
 * 0's list, the stream's undelivered entries (`stream`, read by the caller, in order), then the
 * levels below 0. Aging is not applied: a listing shows each job at its own priority.
 */
export async function listWaiting(
  client: RedisClient,
  queue: string,
  k: QueueKeys,
  stream: readonly Entry[],
  offset: number,
  limit: number,
): Promise<StoredQueuedJob[]> {
  const fromStream = stream.filter((entry) => !isWakeUp(entry));
  const levels = (await client.zrevrange(k.levels, 0, -1)).map(Number);
  if (levels.length === 0) return page(fromStream, queue, offset, limit);
  const wanted = offset + limit;
  const out: StoredQueuedJob[] = [];
  const add = async (level: number): Promise<void> => {
    if (out.length >= wanted) return;
    const members = await client.lrange(`${k.levels}:${level}`, 0, wanted - out.length - 1);
    for (const member of members) out.push(stagedJob(queue, member));
  };
  for (const level of levels.filter((l) => l >= 0)) await add(level);
  for (const entry of fromStream) {
    if (out.length < wanted) out.push(toWaitingJob(queue, entry[0], entry[1]));
  }
  for (const level of levels.filter((l) => l < 0)) await add(level);
  return out.slice(offset, wanted);
}

function page(entries: Entry[], queue: string, offset: number, limit: number): StoredQueuedJob[] {
  return entries
    .slice(offset, offset + limit)
    .map(([entry, fields]) => toWaitingJob(queue, entry, fields));
}

/** A job waiting in a priority level (JSON {id, l, p, a, t, q, g, r}). */
function stagedJob(queue: string, member: string): StoredQueuedJob {
  let job: Record<string, unknown> = {};
  try {
    job = JSON.parse(member) as Record<string, unknown>;
  } catch {
    // Listed with what is known: a worker dead-letters it when it reads it.
  }
  const fields = ['id', 'l', 'p', 'a', 't'].flatMap((name) => [name, String(job[name] ?? '')]);
  return toWaitingJob(queue, `${String(job.r ?? 0)}-0`, fields);
}
