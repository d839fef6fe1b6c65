import { Logger } from '@nestjs/common';
import { compilePattern } from '../discovery/pattern-trie.js';
import { toPatterns } from '../store/event-store.validation.js';
import type { DeadJob } from './dead-job.js';
import type { QueuedJob } from './queued-job.js';
import type { QueueTransport, QueueWatch, WatchedEntry } from './queue-transport.interface.js';
import { watchFilter } from './watch-filter.js';

/** Options of `EventQueues.watch()`. */
export interface WatchOptions {
  /** The queues to watch. @default every queue, including those that appear while watching */
  readonly queues?: readonly string[];
  /** Only jobs whose event name matches (`*`, `**` wildcards). @default every event */
  readonly pattern?: string | readonly string[];
  /** Stops the watch: the iteration then ends. @default none (end it with `break` or `return()`) */
  readonly signal?: AbortSignal;
  /**
   * Asked for each job that matches `pattern`, before its payload is parsed: `false` drops the
   * job unparsed, so a tail over its rate budget costs the app little. Dead letters are always
   * kept. @default every job kept
   */
  readonly admit?: () => boolean;
  /**
   * Reads each queue on Redis at most once per this many ms, and when more than a read's batch
   * (100) of jobs entered since the last read, skips to the newest: the watch then shows a sample
   * of a busy queue (jobs that enter and settle between two reads are not seen either) at a small
   * fixed cost, instead of reading every job a second time. Dead letters are all read, a read
   * later at most. The embedded transport reports each job as it enters and ignores this.
   * @default 0 (read as soon as jobs enter, every job that is still there)
   */
  readonly readIntervalMs?: number;
}

/** What `EventQueues.watch()` yields: a job entering a queue, or entering its dead letters. */
export type QueueActivity =
  | { readonly type: 'job'; readonly job: QueuedJob }
  | { readonly type: 'dead'; readonly job: DeadJob };

/** How often a watch of every queue looks for new queues (ms). */
const RESCAN_MS = 2000;

/** What `watchQueues` needs of `EventQueues`. */
export interface WatchSource {
  readonly transport: QueueTransport;
  /** The queue names to watch now (every known one when the options name none). */
  readonly names: () => Promise<string[]>;
  readonly eventClass: (name: string) => Function | undefined;
}

/**
 * Starts watching (resolves once every queue is watched) and returns the activity as an async
 * iterator; leaving the loop (or `signal`) stops every watch and closes its connection.
 */
export async function watchQueues(
  source: WatchSource,
  options: WatchOptions,
): Promise<AsyncIterableIterator<QueueActivity>> {
  const patterns = toPatterns('pattern', options.pattern)?.map(compilePattern);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  const buffer: QueueActivity[] = [];
  let wake: (() => void) | undefined;
  let failure: { error: unknown } | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  controller.signal.addEventListener('abort', notify, { once: true });

  const keep = watchFilter({ patterns, admit: options.admit, eventClass: source.eventClass });
  const onEntry = (entry: WatchedEntry): void => {
    const activity = keep(entry);
    if (activity === undefined) return;
    buffer.push(activity);
    notify();
  };

  const watches = new Map<string, Promise<QueueWatch>>();
  const startNew = async (): Promise<void> => {
    for (const queue of await source.names()) {
      if (watches.has(queue) || controller.signal.aborted) continue;
      const started = source.transport.watch(queue, controller.signal, onEntry, {
        readIntervalMs: options.readIntervalMs,
      });
      watches.set(queue, started);
      const watch = await started;
      watch.done.catch((error: unknown) => {
        failure ??= { error };
        notify();
      });
    }
  };
  try {
    await startNew();
  } catch (error) {
    stop();
    throw error;
  }
  const logger = new Logger('EventQueues');
  const rescan = options.queues
    ? undefined
    : setInterval(() => {
        startNew().catch((error: unknown) =>
          logger.warn(`Watching new queues failed: ${(error as Error).message}`),
        );
      }, RESCAN_MS);

  async function* iterate(): AsyncGenerator<QueueActivity> {
    try {
      for (;;) {
        while (buffer.length > 0) yield buffer.shift() as QueueActivity;
        if (failure) throw failure.error;
        if (controller.signal.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      stop();
      if (rescan) clearInterval(rescan);
      options.signal?.removeEventListener('abort', stop);
      const started = await Promise.allSettled(watches.values());
      await Promise.allSettled(
        started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.done] : [])),
      );
    }
  }
  return iterate();
}
