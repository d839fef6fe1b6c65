import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import type { DeadJob } from '../queue-job.js';

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
