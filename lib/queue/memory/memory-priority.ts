import { agedPriority } from '../job-priority.js';
import type { MemoryQueue, StoredJob } from './memory-queue.types.js';

/*
 * Priorities in the embedded transport: `waiting` stays sorted by priority (higher first), then
 * by when each job became ready, so an unprioritized queue only ever appends and takes from the
 * front, as before. Jobs with `priorityAgingMs` change rank as they wait: while any such job
 * waits, a take looks at every waiting job (the embedded transport holds few).
 */

/** Adds a ready job behind every waiting job of its priority or higher. */
export function addWaiting(q: MemoryQueue, job: StoredJob): void {
  const { waiting } = q;
  const priority = job.priority ?? 0;
  if (job.priorityAgingMs) q.agingWaiting++;
  let i = waiting.length;
  while (i > 0 && (waiting[i - 1].priority ?? 0) < priority) i--;
  if (i === waiting.length) waiting.push(job);
  else waiting.splice(i, 0, job);
}

/** Takes up to `max` jobs in the order they must start (see `agedPriority`). */
export function takeWaiting(q: MemoryQueue, max: number, now: number): StoredJob[] {
  if (q.agingWaiting === 0) return q.waiting.splice(0, max);
  const taken: StoredJob[] = [];
  while (taken.length < max && q.waiting.length > 0) {
    const [job] = q.waiting.splice(best(q.waiting, now), 1);
    if (job.priorityAgingMs) q.agingWaiting--;
    taken.push(job);
  }
  return taken;
}

/** The index of the job to start next: highest aged priority, then the longest ready. */
function best(waiting: readonly StoredJob[], now: number): number {
  let at = 0;
  let top = -Infinity;
  let since = Infinity;
  for (let i = 0; i < waiting.length; i++) {
    const job = waiting[i];
    const readyAt = job.readyAt ?? job.enqueuedAt;
    const level = agedPriority(job.priority ?? 0, job.priorityAgingMs, now - readyAt);
    if (level > top || (level === top && readyAt < since)) {
      at = i;
      top = level;
      since = readyAt;
    }
  }
  return at;
}
