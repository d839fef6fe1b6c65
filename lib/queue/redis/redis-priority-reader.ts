import type { ChainableCommander } from 'ioredis';
import type { ReservedJob } from '../queue-job.js';
import { toJob } from './redis-entries.js';
import { CONSUMER_GROUP as GROUP } from './redis-keys.js';
import type { QueueState, RedisQueueContext } from './redis-queue.context.js';

/** An entry of a stream reply: id and fields. */
type Entry = [string, string[]];

/** A transaction with the take script as a command (ioredis adds defined scripts to it). */
type TakeChain = ChainableCommander & {
  eventsTake(stream: string, levels: string, ...argv: (string | number)[]): TakeChain;
};

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
   * The take script moves the jobs into the stream and a read in the same transaction delivers
   * them (see TAKE_SCRIPT); with no level staged, that read takes the stream in order.
   */
  async take(q: QueueState, max: number, giveBack: readonly string[] = []): Promise<ReservedJob[]> {
    const { worker, consumer } = this.ctx;
    const { stream, levels } = q.keys;
    if (max < 1) {
      // Only entries to give back: no read (COUNT 0 would read without a limit).
      const [left] = await worker.eventsTake(stream, levels, GROUP, consumer, 0, ...giveBack);
      q.isPrioritized = Number(left) > 0;
      return [];
    }
    const replies = await (worker.multi() as TakeChain)
      .eventsTake(stream, levels, GROUP, consumer, max, ...giveBack)
      .xreadgroup('GROUP', GROUP, consumer, 'COUNT', max, 'STREAMS', stream, '>')
      .exec();
    const [[takeError, taken], [readError, read]] = replies ?? [
      [null, null],
      [null, null],
    ];
    if (readError) throw readError;
    const entries = (read as [string, Entry[]][] | null)?.[0]?.[1] ?? [];
    if (takeError) {
      // The script failed (e.g. NOSCRIPT after a SCRIPT FLUSH), the read did not: what it
      // delivered to this consumer is handed on rather than left pending until reclaimed.
      if (entries.length === 0) throw takeError;
    } else q.isPrioritized = Number((taken as [number, number])[0]) > 0;
    return this.sift(q, entries, max);
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
