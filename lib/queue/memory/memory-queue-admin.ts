import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import type { DeadJob, JobFailure, QueueCounts, ReservedJob } from '../queue-job.js';
import type { LiveJobState, StoredQueuedJob } from '../queued-job.js';
import type { MemoryQueue, StoredJob } from './memory-queue.types.js';
import { MemoryGroups } from '../flow/memory-groups.js';
import { MinuteRing } from '../queue-history.js';
import { takeWaiting } from './memory-priority.js';

/**
 * Hands up to `max` ready jobs to a worker: those of groups first (in fair order), then the
 * ungrouped ones by priority, each with a new receipt. A queue is either grouped or prioritized.
 */
export function takeReady(q: MemoryQueue, max: number, receipt: () => number): ReservedJob[] {
  const grouped = q.groups.hasReady() ? q.groups.take(max) : [];
  const rest = grouped.length < max ? takeWaiting(q, max - grouped.length, Date.now()) : [];
  return [...grouped, ...rest].map((job) => {
    job.attempts++;
    job.receipt = receipt();
    job.reservedAt = Date.now();
    q.active.set(job.id, job);
    return {
      id: job.id,
      queue: job.queue,
      listener: job.listener,
      payload: job.payload,
      attempt: job.attempts,
      enqueuedAt: job.enqueuedAt,
      receipt: String(job.receipt),
      ...(job.group && { group: job.group.id }),
    };
  });
}

/** A new, empty queue of the embedded transport. */
export function newMemoryQueue(now: () => number): MemoryQueue {
  const waiters = new Set<() => void>();
  // A group that may start again wakes one reader.
  const onReady = (): void => [...waiters][0]?.();
  return {
    groups: new MemoryGroups<StoredJob>(onReady, now),
    waiting: [],
    agingWaiting: 0,
    delayed: [],
    active: new Map(),
    dead: [],
    completed: 0,
    failed: 0,
    history: new MinuteRing(),
    waiters,
    isConsumed: false,
  };
}

/** Stops the queues' timers; the warning about the jobs they drop at shutdown, if any. */
export function droppedJobs(byName: ReadonlyMap<string, MemoryQueue>): string | undefined {
  const dropped: string[] = [];
  let total = 0;
  for (const [name, q] of byName) {
    q.groups.stop();
    const waiting = q.waiting.length + q.groups.waiting;
    const count = waiting + q.delayed.length + q.active.size;
    if (count === 0) continue;
    total += count;
    dropped.push(
      `"${name}": ${waiting} waiting, ${q.delayed.length} delayed, ${q.active.size} running`,
    );
  }
  if (total === 0) return undefined;
  return (
    `${total} job(s) dropped at shutdown (the embedded transport keeps jobs in memory only; ` +
    `use Redis to keep them): ${dropped.join('; ')}`
  );
}

/** A page of dead jobs: after the dead job `after` when given, then skipping `offset`. */
export function pageDead(
  dead: readonly DeadJob[],
  offset: number,
  limit: number,
  after?: string,
): DeadJob[] {
  let start = 0;
  if (after !== undefined) {
    const at = dead.findIndex((d) => d.id === after);
    if (at < 0) throw new InvalidOptionError('after', after, 'the id of a job in the dead letters');
    start = at + 1;
  }
  return dead.slice(start + offset, start + offset + limit);
}

/** Removes one dead job in place; whether there was one. */
export function forgetDead(dead: DeadJob[], id: string): boolean {
  const at = dead.findIndex((d) => d.id === id);
  if (at < 0) return false;
  dead.splice(at, 1);
  return true;
}

/** Removes, in place, the dead jobs that failed before `cutoff` (ms); returns how many. */
export function pruneDead(dead: DeadJob[], cutoff: number): number {
  const kept = dead.filter((d) => d.failedAt >= cutoff);
  const pruned = dead.length - kept.length;
  dead.splice(0, dead.length, ...kept);
  return pruned;
}

/** A live job as listed. `attempts` counts attempts started (one is running while active). */
function view(
  job: StoredJob,
  queue: string,
  state: LiveJobState,
  extra: Partial<StoredQueuedJob> = {},
): StoredQueuedJob {
  return {
    id: job.id,
    queue,
    listener: job.listener,
    state,
    payload: job.payload,
    attemptsMade: state === 'active' ? job.attempts - 1 : job.attempts,
    enqueuedAt: job.enqueuedAt,
    ...extra,
  };
}

function all(q: MemoryQueue, queue: string, state: LiveJobState): StoredQueuedJob[] {
  switch (state) {
    case 'waiting':
      // As on Redis: ungrouped jobs, then those of groups, group by group (by id).
      return [...q.waiting, ...q.groups.jobs()].map((job) => view(job, queue, state));
    case 'delayed':
      return q.delayed.map(({ dueAt, job }) => view(job, queue, state, { runAt: dueAt }));
    case 'active': {
      const now = Date.now();
      return [...q.active.values()].map((job) =>
        view(job, queue, state, {
          heldBy: 'this process',
          ageMs: Math.max(0, now - (job.reservedAt ?? now)),
        }),
      );
    }
  }
}

/** A page of the queue's jobs in one state. */
export function listJobs(
  q: MemoryQueue,
  queue: string,
  state: LiveJobState,
  offset: number,
  limit: number,
): StoredQueuedJob[] {
  return all(q, queue, state).slice(offset, offset + limit);
}

/** One job by id, in whatever state it is. */
export function findJob(
  q: MemoryQueue,
  queue: string,
  id: string,
): StoredQueuedJob | DeadJob | undefined {
  for (const state of ['active', 'waiting', 'delayed'] as const) {
    const found = all(q, queue, state).find((job) => job.id === id);
    if (found) return found;
  }
  return q.dead.find((job) => job.id === id);
}

/** The counts of one queue. */
export function countsOf(q: MemoryQueue): QueueCounts {
  return {
    waiting: q.waiting.length + q.groups.waiting,
    delayed: q.delayed.length,
    active: q.active.size,
    completed: q.completed,
    failed: q.failed,
    dead: q.dead.length,
  };
}

/** Removes, in place, the dead job `id` (none when unknown), or every one for `'all'`. */
export function takeDead(dead: DeadJob[], id: string): DeadJob[] {
  if (id === 'all') return dead.splice(0);
  const at = dead.findIndex((d) => d.id === id);
  return at < 0 ? [] : dead.splice(at, 1);
}

/** A dead job as a new waiting job: its attempts start again from now, at its own priority. */
export function revived(dead: DeadJob, now: number): StoredJob {
  return {
    id: dead.id,
    queue: dead.queue,
    listener: dead.listener,
    payload: dead.payload,
    enqueuedAt: now,
    attempts: 0,
    receipt: 0,
    priority: dead.priority,
    priorityAgingMs: dead.priorityAgingMs,
  };
}

/** Empties a queue in place (a worker waiting on this object keeps working with it). */
export function emptyInPlace(q: MemoryQueue): void {
  q.waiting.length = 0;
  q.groups.clear();
  q.agingWaiting = 0;
  q.delayed.length = 0;
  q.dead.length = 0;
  q.active.clear();
  q.completed = 0;
  q.failed = 0;
}

/** A failed attempt: counted, and in this minute's history. */
export function countFailed(q: MemoryQueue): void {
  q.failed++;
  q.history.add(Date.now(), 0, 1);
}

/**
 * How long (ms) the queue's oldest waiting job has been ready, grouped jobs included (the heads
 * of its groups: O(groups)); undefined when none waits. `waiting` is in priority order, so its
 * oldest job may be anywhere in it.
 */
export function oldestWaitingAge(q: MemoryQueue, now: number): number | undefined {
  let oldest: number | undefined;
  for (const job of q.waiting.length > 0 ? [...q.waiting, ...q.groups.heads()] : q.groups.heads()) {
    const at = job.readyAt ?? job.enqueuedAt;
    if (oldest === undefined || at < oldest) oldest = at;
  }
  return oldest === undefined ? undefined : Math.max(0, now - oldest);
}

/** A reserved job as a dead job, failed at `now`, keeping the priority it was stored with. */
export function deadJobOf(
  job: ReservedJob,
  stored: StoredJob | undefined,
  failure: JobFailure,
  now: number,
): DeadJob {
  const dead: DeadJob = {
    id: job.id,
    queue: job.queue,
    listener: job.listener,
    payload: job.payload,
    attempts: job.attempt,
    reason: failure.reason,
    error: failure.message,
    stack: failure.stack,
    enqueuedAt: job.enqueuedAt,
    failedAt: now,
  };
  const priority = stored?.priority ?? 0;
  const agingMs = stored?.priorityAgingMs;
  if (priority === 0 && !agingMs) return dead;
  return { ...dead, priority, ...(agingMs && { priorityAgingMs: agingMs }) };
}
