import { Logger } from '@nestjs/common';
import type { QueueWatch, WatchedEntry } from '../queue-transport.interface.js';
import type { StoredJob } from './memory-queue.types.js';

/** What a watcher sees of a job that became ready. */
export function watchedJob(job: StoredJob): WatchedEntry {
  const { id, queue, listener, payload, enqueuedAt, attempts } = job;
  return {
    type: 'job',
    job: { id, queue, listener, payload, enqueuedAt, state: 'waiting', attemptsMade: attempts },
  };
}

/** The callbacks of the embedded transport's `watch`, by queue. */
export class MemoryWatchers {
  private readonly logger = new Logger(MemoryWatchers.name);
  private readonly byQueue = new Map<string, Set<(entry: WatchedEntry) => void>>();

  /** Calls `onEntry` for the queue's entries until `signal` fires. */
  add(queue: string, signal: AbortSignal, onEntry: (entry: WatchedEntry) => void): QueueWatch {
    let callbacks = this.byQueue.get(queue);
    if (!callbacks) this.byQueue.set(queue, (callbacks = new Set()));
    const set = callbacks;
    set.add(onEntry);
    const done = new Promise<void>((resolve) => {
      const stop = (): void => {
        set.delete(onEntry);
        if (set.size === 0 && this.byQueue.get(queue) === set) this.byQueue.delete(queue);
        resolve();
      };
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
    return { done };
  }

  /** Whether anyone watches the queue (building an entry costs a copy: skip it otherwise). */
  has(queue: string): boolean {
    return this.byQueue.has(queue);
  }

  /** Reports a job that became ready (built only when someone watches its queue). */
  jobReady(job: StoredJob): void {
    if (this.byQueue.has(job.queue)) this.notify(job.queue, watchedJob(job));
  }

  /** Reports an entry; a throwing callback is logged and never reaches the transport. */
  notify(queue: string, entry: WatchedEntry): void {
    for (const onEntry of this.byQueue.get(queue) ?? []) {
      try {
        onEntry(entry);
      } catch (error) {
        this.logger.error(`A queue watcher threw: ${(error as Error).message}`);
      }
    }
  }
}
