import type { PayloadMatch, RemovedJobs } from '../flow/job-removal.js';
import type { MemoryQueue } from './memory-queue.types.js';

/**
 * Removes the waiting (in the queue, its priority order or its groups) and delayed jobs of
 * `listener` whose payload matches, and lists its matching
 * running ones: a scan of the queue (O(jobs in the queue)).
 */
export function removeMatching(
  q: MemoryQueue | undefined,
  listener: string,
  matches: PayloadMatch,
): RemovedJobs {
  if (q === undefined) return { removed: 0, running: [] };
  let removed = 0;
  for (let i = q.waiting.length - 1; i >= 0; i--) {
    const job = q.waiting[i];
    if (job.listener === listener && matches(job.payload)) {
      q.waiting.splice(i, 1);
      if (job.priorityAgingMs) q.agingWaiting--;
      removed++;
    }
  }
  removed += q.groups.remove((job) => job.listener === listener && matches(job.payload));
  for (let i = q.delayed.length - 1; i >= 0; i--) {
    const { job } = q.delayed[i];
    if (job.listener === listener && matches(job.payload)) {
      q.delayed.splice(i, 1);
      removed++;
    }
  }
  const running: string[] = [];
  for (const job of q.active.values()) {
    if (job.listener === listener && matches(job.payload)) running.push(job.id);
  }
  return { removed, running };
}
