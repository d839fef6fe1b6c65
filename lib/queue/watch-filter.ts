import { eventNameOfPayload } from '../event/event.serializer.js';
import { parseDeadJob } from './dead-job.js';
import { parseQueuedJob } from './queued-job.js';
import type { WatchedEntry } from './queue-transport.interface.js';
import type { QueueActivity } from './queue-watch.js';

/** What `EventQueues.watch()` keeps of what its transports report. */
export interface WatchFilterOptions {
  /** Compiled `pattern`s; undefined keeps every event. */
  readonly patterns: readonly ((name: string) => boolean)[] | undefined;
  /** `WatchOptions.admit`: asked per matching job (not dead letters) before it is parsed. */
  readonly admit: (() => boolean) | undefined;
  readonly eventClass: (name: string) => Function | undefined;
}

/**
 * Turns a reported entry into the activity a watch yields, or `undefined` to drop it. A busy
 * queue reports thousands of jobs a second, so the cheap checks come first: the event name read
 * from the payload without parsing it, then `admit`; only the jobs kept are parsed. A payload
 * whose name cannot be read that way is parsed first and checked after, as before.
 */
export function watchFilter(
  options: WatchFilterOptions,
): (entry: WatchedEntry) => QueueActivity | undefined {
  const { patterns, admit, eventClass } = options;
  const matches = (name: string | undefined): boolean =>
    !patterns || (name !== undefined && patterns.some((match) => match(name)));
  return (entry) => {
    const name = eventNameOfPayload(entry.job.payload);
    const isJob = entry.type === 'job';
    if (name !== undefined) {
      if (!matches(name)) return undefined;
      if (isJob && admit && !admit()) return undefined;
    }
    const activity: QueueActivity =
      entry.type === 'job'
        ? { type: 'job', job: parseQueuedJob(entry.job, eventClass) }
        : { type: 'dead', job: parseDeadJob(entry.job, eventClass) };
    if (name === undefined) {
      if (!matches(activity.job.payload?.name)) return undefined;
      if (isJob && admit && !admit()) return undefined;
    }
    return activity;
  };
}
