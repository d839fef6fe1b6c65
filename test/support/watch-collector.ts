import type { EventQueues, QueueActivity, WatchOptions } from 'nestjs-events';

/** A running `EventQueues.watch`, collecting what it reports. */
export interface WatchCollector<T> {
  /** What the watch reported so far, as `keep` made it. */
  readonly seen: T[];
  /** Ends the watch and waits for its loop to leave. */
  stop(): Promise<void>;
}

/** Starts a watch (resolved: it sees what enters from now on) and collects its reports. */
export async function collectWatch<T>(
  queues: EventQueues,
  options: Omit<WatchOptions, 'signal'>,
  keep: (entry: QueueActivity) => T,
): Promise<WatchCollector<T>> {
  const controller = new AbortController();
  const activity = await queues.watch({ ...options, signal: controller.signal });
  const seen: T[] = [];
  const reading = (async () => {
    for await (const entry of activity) seen.push(keep(entry));
  })();
  return {
    seen,
    stop: async () => {
      controller.abort();
      await reading.catch(() => undefined);
    },
  };
}
