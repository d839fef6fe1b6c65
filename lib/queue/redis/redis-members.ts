import type { NewJob } from '../queue-job.js';

/* How a new job is written where it waits outside the stream: the delayed set, a priority level. */

/** A delayed job as its sorted-set member. */
export function delayedMember(job: NewJob, now: number): string {
  const member = { id: job.id, l: job.listener, p: job.payload, a: '0', t: String(now) };
  return JSON.stringify(isPrioritized(job) ? { ...member, ...levelOf(job) } : member);
}

/** Whether a job waits in a priority level rather than in the stream (see redis-priority-scripts). */
export function isPrioritized(job: NewJob): boolean {
  return (job.priority ?? 0) !== 0 || job.priorityAgingMs !== undefined;
}

/** A job's level fields: `q` its priority, `g` its aging period (ms, '0' for none). */
function levelOf(job: NewJob): { q: string; g: string } {
  return { q: String(job.priority ?? 0), g: String(job.priorityAgingMs ?? 0) };
}

/** A job stored in its priority level, enqueued at `now` (its ready time `r` is Redis's). */
export function stagedMember(job: NewJob, now: number): string {
  const { id, listener: l, payload: p } = job;
  return JSON.stringify({ id, l, p, a: '0', t: String(now), ...levelOf(job) });
}
