import type { NewJob } from '../queue-job.js';

/* How a new job is written where it waits outside the stream: the delayed set, a priority level. */

/**
 * A delayed job as its sorted-set member. A grouped job keeps its group and its settings through
 * the delay, a prioritized one its level (see PROMOTE_SCRIPT); a job is never both.
 */
export function delayedMember(job: NewJob, now: number): string {
  const member = { id: job.id, l: job.listener, p: job.payload, a: '0', t: String(now) };
  const group = job.group;
  if (group !== undefined) {
    return JSON.stringify({
      ...member,
      g: group.id,
      gw: String(group.weight),
      gc: String(group.concurrency),
      grm: String(group.rateMax),
      grd: String(group.rateMs),
    });
  }
  return JSON.stringify(isPrioritized(job) ? { ...member, ...levelOf(job) } : member);
}

/** Whether a job waits in a priority level rather than in the stream (see redis-priority-scripts). */
export function isPrioritized(job: NewJob): boolean {
  return (job.priority ?? 0) !== 0 || job.priorityAgingMs !== undefined;
}

/** A job's level fields: `q` its priority, `ag` its aging period (ms, '0' for none). */
function levelOf(job: NewJob): { q: string; ag: string } {
  return { q: String(job.priority ?? 0), ag: String(job.priorityAgingMs ?? 0) };
}

/**
 * A job stored in its priority level, enqueued at `now` (its ready time `r` is Redis's): the JSON
 * of {id, l, p, a, t, q, ag}, written by hand (an emit of a prioritized job builds one per job;
 * this is about half the time of stringifying an object made for it). Only the strings that may
 * need escaping go through JSON.stringify; the others are numbers.
 */
export function stagedMember(job: NewJob, now: number): string {
  return (
    `{"id":${JSON.stringify(job.id)},"l":${JSON.stringify(job.listener)},` +
    `"p":${JSON.stringify(job.payload)},"a":"0","t":"${now}",` +
    `"q":"${job.priority ?? 0}","ag":"${job.priorityAgingMs ?? 0}"}`
  );
}
