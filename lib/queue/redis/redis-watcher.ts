import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueWatch, WatchedEntry } from '../queue-transport.interface.js';
import type { StoredQueuedJob } from '../queued-job.js';
import { toDeadJob, toWaitingJob } from './redis-entries.js';
import { transportError } from './redis-errors.js';
import { MAX_BLOCK_MS, type RedisQueueContext } from './redis-queue.context.js';

/** Entries read per `XREAD`. */
const WATCH_BATCH = 100;
/**
 * How long (ms) a watch's flag outlives its last renewal: a reader renews it once a block has
 * passed, before a read, and a paced one may wait its interval first.
 */
const watchingMs = (readIntervalMs: number): number => MAX_BLOCK_MS * 3 + readIntervalMs;
/** The largest sequence of a stream id: `<ms - 1>-MAX` starts a read at `<ms>-0`. */
const MAX_SEQUENCE = '18446744073709551615';

/**
 * Live view of queues for tails (the CLI's `tail`, dashboards): a plain `XREAD` (no consumer
 * group, so it takes nothing from the workers) of a queue's stream and dead-letter stream on a
 * connection of its own. Both keys share the queue's hash tag, so one read serves both, on a
 * cluster too. A job that enters and is acknowledged (deleted) between two reads is missed:
 * a tail shows what it sees, it is not a log. Jobs that wait in groups or priority levels come
 * from the queue's watch stream (see NOTICE in redis-lua.ts) while the watch's flag lives; their
 * later move to the stream, when taken (its entry has `g`, or one field `j`), is not reported
 * again. A paced watch (`readIntervalMs`) reads at most once per interval and, past a full batch,
 * skips to the newest job of the stream: a sample of a busy queue for a fixed cost (see
 * WatchOptions.readIntervalMs).
 */
export class RedisWatcher {
  private readonly logger = new Logger(RedisWatcher.name);

  constructor(private readonly ctx: RedisQueueContext) {}

  async watch(
    queue: string,
    signal: AbortSignal,
    onEntry: (entry: WatchedEntry) => void,
    readIntervalMs = 0,
  ): Promise<QueueWatch> {
    const keys = this.ctx.keys.queue(queue);
    const { client: reader } = await this.ctx.factory.createReader(
      `watch:${queue}`,
      keys.stream,
      this.ctx.client,
    );
    let start: string;
    try {
      // Redis's clock, not ours: stream ids are stamped by Redis.
      const [seconds, micros] = await reader.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      start = `${now - 1}-${MAX_SEQUENCE}`;
      // Raised before the watch resolves: a job stored in a group or level after it is noticed.
      await this.ctx.client.set(keys.watching, '1', 'PX', watchingMs(readIntervalMs));
    } catch (error) {
      void this.ctx.factory.close(reader);
      throw transportError(`watching queue "${queue}"`, error);
    }
    // A blocked XREAD cannot be cancelled: closing its connection ends it at once.
    const onAbort = (): void => void this.ctx.factory.close(reader);
    signal.addEventListener('abort', onAbort, { once: true });
    const done = this.read(queue, reader, start, signal, onEntry, readIntervalMs).finally(() => {
      signal.removeEventListener('abort', onAbort);
      void this.ctx.factory.close(reader);
    });
    return { done };
  }

  private async read(
    queue: string,
    reader: Redis,
    start: string,
    signal: AbortSignal,
    onEntry: (entry: WatchedEntry) => void,
    readIntervalMs: number,
  ): Promise<void> {
    const keys = this.ctx.keys.queue(queue);
    let streamFrom = start;
    let deadFrom = start;
    let watchFrom = start;
    let renewedAt = Date.now();
    let readAt = 0;
    while (!signal.aborted) {
      let reply: [string, [string, string[]][]][] | null;
      let infos: Map<string, string | null>;
      let skipTo: { stream?: string; watch?: string } = {};
      try {
        const wait = readAt + readIntervalMs - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return;
        readAt = Date.now();
        // Renewed once a block has passed (the flag outlives three), not on every read of a busy
        // queue, and without a round trip before the read: a wait here would widen the gap in
        // which a job that enters and is acknowledged goes unseen.
        if (readAt - renewedAt >= MAX_BLOCK_MS) {
          renewedAt = readAt;
          this.ctx.client
            .set(keys.watching, '1', 'PX', watchingMs(readIntervalMs))
            .catch(() => undefined);
        }
        reply = (await reader.xread(
          'COUNT',
          WATCH_BATCH,
          'BLOCK',
          MAX_BLOCK_MS,
          'STREAMS',
          keys.stream,
          keys.dead,
          keys.watch,
          streamFrom,
          deadFrom,
          watchFrom,
        )) as [string, [string, string[]][]][] | null;
        infos = await this.deadInfos(keys.deadInfo, reply, keys.dead);
        if (readIntervalMs > 0) {
          skipTo = {
            stream: await this.skipAhead(reader, keys.stream, reply),
            watch: await this.skipAhead(reader, keys.watch, reply),
          };
        }
      } catch (error) {
        if (signal.aborted) return;
        throw transportError(`watching queue "${queue}"`, error);
      }
      for (const [key, entries] of reply ?? []) {
        for (const [entry, fields] of entries) {
          if (key === keys.dead) {
            deadFrom = entry;
            const job = toDeadJob(queue, entry, fields, infos.get(entry));
            this.report(onEntry, { type: 'dead', job });
          } else if (key === keys.watch) {
            watchFrom = entry;
            const job = noticedJob(queue, entry, fields);
            if (job !== undefined) this.report(onEntry, { type: 'job', job });
          } else {
            streamFrom = entry;
            // A wake-up entry (a job stored in a priority level) holds no job; a job taken from
            // a group or level was reported when it entered there.
            if (fields?.[0] === 'w' || isTaken(fields)) continue;
            this.report(onEntry, { type: 'job', job: toWaitingJob(queue, entry, fields) });
          }
        }
      }
      streamFrom = skipTo.stream ?? streamFrom;
      watchFrom = skipTo.watch ?? watchFrom;
    }
  }

  /**
   * The dead info (error, stack, attempts) of the dead entries a read returned, by entry id: a
   * dead entry keeps only what a retry moves. An entry retried meanwhile has none, and is shown
   * without them.
   */
  private async deadInfos(
    deadInfo: string,
    reply: [string, [string, string[]][]][] | null,
    dead: string,
  ): Promise<Map<string, string | null>> {
    const entries = reply?.find(([key]) => key === dead)?.[1] ?? [];
    if (entries.length === 0) return new Map();
    const ids = entries.map(([entry]) => entry);
    const values = await this.ctx.client.hmget(deadInfo, ...ids);
    return new Map(ids.map((id, i) => [id, values[i]]));
  }

  /**
   * Where a paced read of `key` goes on from: past a full batch (more entered than one read
   * takes), the stream's newest entry, so the next read shows what enters from now on rather
   * than working through a backlog; else undefined (the loop moves past what it reads).
   */
  private async skipAhead(
    reader: Redis,
    key: string,
    reply: [string, [string, string[]][]][] | null,
  ): Promise<string | undefined> {
    const entries = reply?.find(([k]) => k === key)?.[1];
    if (entries === undefined || entries.length < WATCH_BATCH) return undefined;
    const [newest] = (await reader.xrevrange(key, '+', '-', 'COUNT', 1)) as [string, string[]][];
    return newest?.[0];
  }

  private report(onEntry: (entry: WatchedEntry) => void, entry: WatchedEntry): void {
    try {
      onEntry(entry);
    } catch (error) {
      this.logger.error(`A queue watcher threw: ${(error as Error).message}`);
    }
  }
}

/**
 * Whether a stream entry is a job a worker took from a group or a priority level (field `g`, or
 * `m` as earlier releases marked them, or one field `j`: see TAKE_SCRIPT).
 */
function isTaken(fields: string[] | undefined): boolean {
  if (fields?.[0] === 'j') return true;
  for (let i = (fields?.length ?? 0) - 2; i >= 0; i -= 2) {
    if (fields![i] === 'g' || fields![i] === 'm') return true;
  }
  return false;
}

/** The job of a watch-stream entry (its JSON in field `j`); undefined when unreadable. */
function noticedJob(queue: string, entry: string, fields: string[]): StoredQueuedJob | undefined {
  try {
    const job = JSON.parse(fields[1]) as Record<string, unknown>;
    const flat = ['id', 'l', 'p', 'a', 't'].flatMap((k) => [k, String(job[k] ?? '')]);
    return toWaitingJob(queue, entry, flat);
  } catch {
    return undefined;
  }
}
