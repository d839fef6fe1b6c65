import type { ReservedJob } from '../queue-job.js';
import { toJob, toLevelJob } from './redis-entries.js';
import { CONSUMER_GROUP as GROUP } from './redis-keys.js';
import type { QueueState, RedisQueueContext } from './redis-queue.context.js';

/** An entry of a stream reply: id and fields. */
type Entry = [string, string[]];

/** Whether a stream entry is a wake-up entry (a job of another priority was stored). */
function isWakeUp(fields: string[] | null | undefined): boolean {
  return fields?.[0] === 'w';
}

/**
 * Reads a queue whose jobs wait in priority levels (see redis-priority-scripts.ts). A queue
 * without them costs nothing here: its reads stay the blocking XREADGROUP, and only a wake-up
 * entry in what it read switches it to the take script.
 */
export class RedisPriorityReader {
  constructor(private readonly ctx: RedisQueueContext) {}

  /**
   * Up to `max` jobs in priority order (none once no level holds a job: the caller then blocks
   * on the stream). `giveBack`: entries just delivered to this consumer, taken back first.
   * The take script moves the jobs into the stream, delivers them to this consumer there and
   * replies with them (see TAKE_SCRIPT): one command, no transaction.
   */
  async take(q: QueueState, max: number, giveBack: readonly string[] = []): Promise<ReservedJob[]> {
    const { worker, consumer } = this.ctx;
    const { stream, levels } = q.keys;
    // With max < 1 (entries to give back only) the script takes nothing.
    const reply = await worker.eventsTake(
      stream,
      levels,
      GROUP,
      consumer,
      Math.max(0, max),
      ...giveBack,
    );
    q.isPrioritized = Number(reply[0]) > 0;
    const jobs: ReservedJob[] = [];
    for (let i = 2; i + 1 < reply.length; i += 2) {
      jobs.push(toLevelJob(q.name, String(reply[i]), 1, String(reply[i + 1])));
    }
    // Emptied, as a read's reply is (see releaseReply): its strings are not kept from a scavenge.
    reply.length = 0;
    return jobs;
  }

  /**
   * The jobs of a plain read. From a wake-up entry on, a job of a higher priority may wait:
   * the entries from there go back (to level 0, in order) and the take script chooses.
   */
  async sift(q: QueueState, entries: readonly Entry[], max: number): Promise<ReservedJob[]> {
    const at = entries.findIndex(([, fields]) => isWakeUp(fields));
    if (at < 0) return entries.map(([entry, fields]) => toJob(q.name, entry, 1, fields));
    const before = entries.slice(0, at).map(([entry, fields]) => toJob(q.name, entry, 1, fields));
    const back = entries.slice(at).map(([entry]) => entry);
    return [...before, ...(await this.take(q, max - at, back))];
  }

  /** Reclaimed entries without wake-up entries (those are dropped: they hold no job). */
  async withoutWakeUps<T extends [string, number, string[]]>(
    q: QueueState,
    entries: readonly T[],
  ): Promise<T[]> {
    const wakeUps = entries.filter(([, , fields]) => isWakeUp(fields));
    if (wakeUps.length === 0) return entries as T[];
    await this.take(
      q,
      0,
      wakeUps.map(([entry]) => entry),
    );
    return entries.filter(([, , fields]) => !isWakeUp(fields));
  }
}
