import { Logger } from '@nestjs/common';
import { TransportError } from '../../errors/transport.error.js';
import type { ReservedJob } from '../queue-job.js';
import type { RedisBlockingReaders } from './redis-blocking-readers.js';
import { releaseReply, toJob } from './redis-entries.js';
import { isNoGroupError, transportError } from './redis-errors.js';
import { CONSUMER_GROUP as GROUP } from './redis-keys.js';
import type { RedisPauses } from './redis-pauses.js';
import type { RedisGroups } from './redis-groups.js';
import type { RedisPriorityReader } from './redis-priority-reader.js';
import type { RedisPromoter } from './redis-promoter.js';
import {
  MAX_BLOCK_MS,
  type Client,
  type QueueState,
  type RedisQueueContext,
} from './redis-queue.context.js';
import { SCRIPT_ID_BATCH } from './redis-scripts.js';
import { isClusterClient } from '../../redis/redis-connection.factory.js';

/** Read through a function: TypeScript narrows `status` for good after one comparison. */
function isReady(client: Client): boolean {
  return client.status === 'ready';
}

/** A read that returns this much later than its block saw Redis (or this process) stall. */
const STALL_MS = 2000;
/** Consumers idle this long with nothing pending are removed from the group. */
const CONSUMER_TTL_MS = 60 * 60 * 1000;

/**
 * Hands jobs to this process's worker: reclaims entries other consumers left pending past the
 * visibility timeout, then reads new entries in one of three ways per queue: a grouped queue
 * through the group take script (`RedisGroups`), a queue whose jobs wait in priority levels
 * through the priority take script (`RedisPriorityReader`), any other with a plain blocking read.
 * A queue is grouped or prioritized, never both (refused at boot and at emit).
 */
export class RedisReserver {
  private readonly logger = new Logger(RedisReserver.name);

  constructor(
    private readonly ctx: RedisQueueContext,
    private readonly readers: RedisBlockingReaders,
    private readonly promoter: RedisPromoter,
    private readonly pauses: RedisPauses,
    private readonly groups: RedisGroups,
    private readonly priorities: RedisPriorityReader,
  ) {}

  /** `isGrouped`: the queue has groups, read in fair order through `RedisGroups`. */
  async reserve(
    queue: string,
    max: number,
    signal: AbortSignal,
    isGrouped = false,
  ): Promise<ReservedJob[]> {
    const q = this.ctx.state(queue);
    while (!signal.aborted && !this.ctx.isClosed) {
      let worker: Client | undefined;
      try {
        worker = await this.ctx.connectWorker();
        await this.ctx.whenReady(worker, signal);
        if (!q.hasGroup) await this.ctx.createGroup(q);
        if (await this.pauses.gate(q, signal)) continue;
        let now = Date.now();
        if (now >= q.promoteAt) await this.promoter.promote(q, now);
        if (now >= q.reclaimAt && now >= this.ctx.reclaimHoldUntil) {
          const reclaimed = await this.reclaim(q, max, now);
          if (reclaimed.length > 0) {
            // A reclaimed grouped job keeps its group's slot (its lease outlives the timeout).
            if (isGrouped) await this.groups.extend(reclaimed);
            return this.hold(reclaimed);
          }
        }
        now = Date.now();
        const blockMs = Math.max(1, Math.min(MAX_BLOCK_MS, q.promoteAt - now, q.reclaimAt - now));
        if (this.pauses.isKnownPaused(q)) continue;
        const jobs = isGrouped
          ? await this.groups.take(q, max, blockMs, signal)
          : await this.read(q, max, blockMs, signal);
        if (jobs.length > 0) {
          const held = this.hold(jobs);
          // Entries pushed to a blocked read arrive with the replies to the emits that stored
          // them, when producer and worker share a process: one turn of the event loop lets
          // those replies resolve their emits first, rather than after this read's handlers.
          await new Promise<void>((resolve) => setImmediate(resolve));
          return held;
        }
      } catch (error) {
        if (this.ctx.isClosed || signal.aborted) return [];
        if (isNoGroupError(error)) {
          // Redis lost the group (restart without data): recreate it and go on, warning once.
          q.hasGroup = false;
          if (!q.isGroupLost) {
            q.isGroupLost = true;
            this.logger.warn(
              `Queue "${queue}": consumer group missing (Redis lost data?); recreating it`,
            );
          }
          continue;
        }
        this.ctx.noteOutage();
        // A dropped connection: wait for it to come back here rather than fail into the
        // worker's backoff, so that work resumes as soon as Redis is back.
        if (worker !== undefined && !isReady(worker) && !isClusterClient(worker)) {
          while (!isReady(worker) && !signal.aborted && !this.ctx.isClosed) {
            await this.ctx.whenReady(worker, signal);
          }
          continue;
        }
        throw transportError(`reading queue "${queue}"`, error);
      }
    }
    return [];
  }

  private async reclaim(q: QueueState, max: number, now: number): Promise<ReservedJob[]> {
    const visibility = this.ctx.options.visibilityTimeout;
    const { worker, consumer } = this.ctx;
    // A reclaim that waited in a stalled Redis longer than this takes nothing (see the script).
    const deadline = this.ctx.redisDeadline(Math.max(50, Math.min(1000, visibility / 2)));
    const [cursor, others, redisNow, isFresh, own] = await worker.eventsReclaim(
      q.keys.stream,
      GROUP,
      consumer,
      visibility,
      q.cursor,
      Math.min(max, SCRIPT_ID_BATCH),
      deadline,
    );
    this.ctx.noteRedisTime(Number(redisNow), Number(isFresh) === 0);
    if (Number(isFresh) === 0) {
      // Refused: it reached Redis too late. Ask again soon, with the clock re-learnt.
      q.reclaimAt = now + Math.max(50, Math.min(1000, Math.floor(visibility / 4)));
      return [];
    }
    q.cursor = cursor;
    const entries = others.length > 0 ? others : await this.reclaimOwn(q, own, max);
    if (cursor === '0-0') {
      this.ctx.pruneHeld();
      // A full pass over the pending entries is done: the next one after half a timeout.
      q.reclaimAt = now + Math.max(50, Math.floor(visibility / 2));
      if (now - q.cleanedAt > CONSUMER_TTL_MS / 4) {
        q.cleanedAt = now;
        await worker.eventsCleanupConsumers(
          q.keys.stream,
          GROUP,
          consumer,
          Math.max(CONSUMER_TTL_MS, visibility * 10),
        );
      }
    }
    if (entries.length > 0) {
      this.logger.warn(
        `Queue "${q.name}": reclaimed ${entries.length} job(s) pending over ${visibility} ms (a worker died or froze)`,
      );
    }
    return (await this.priorities.withoutWakeUps(q, entries)).map(([entry, deliveries, fields]) =>
      toJob(q.name, entry, Number(deliveries), fields),
    );
  }

  /**
   * Claims again this consumer's idle entries that its worker no longer holds (it gave up on
   * them, e.g. after a failed settle): nobody else would, while this process lives. An entry
   * delivered more than once goes alone, as in the script.
   */
  private async reclaimOwn(
    q: QueueState,
    own: [string, number][],
    max: number,
  ): Promise<[string, number, string[]][]> {
    const dropped = own.filter(([entry]) => !this.ctx.isHeld(entry));
    if (dropped.length === 0) return [];
    const first = dropped.findIndex(([, deliveries]) => Number(deliveries) > 1);
    const chosen =
      first === 0 ? dropped.slice(0, 1) : dropped.slice(0, first < 0 ? max : Math.min(first, max));
    const counts = new Map(chosen.map(([entry, deliveries]) => [entry, Number(deliveries) + 1]));
    const claimed = (await this.ctx.worker.call(
      'XCLAIM',
      q.keys.stream,
      GROUP,
      this.ctx.consumer,
      this.ctx.options.visibilityTimeout,
      ...counts.keys(),
    )) as ([string, string[]] | null)[];
    return claimed
      .filter((e): e is [string, string[]] => Array.isArray(e) && Array.isArray(e[1]))
      .map(([entry, fields]) => [entry, counts.get(entry) ?? 1, fields]);
  }

  /** Notes the jobs as held by this process's worker (see `RedisQueueContext.isHeld`). */
  private hold(jobs: ReservedJob[]): ReservedJob[] {
    const now = Date.now();
    for (const job of jobs) {
      this.ctx.noteHeld(job.receipt.slice(0, job.receipt.lastIndexOf('/')), now);
    }
    return jobs;
  }

  private async read(
    q: QueueState,
    max: number,
    blockMs: number,
    signal: AbortSignal,
  ): Promise<ReservedJob[]> {
    if (q.isPrioritized) {
      // Jobs wait in priority levels: the take script hands the best; none left, block below.
      const taken = await this.priorities.take(q, max);
      if (taken.length > 0 || signal.aborted) return taken;
    }
    const reader = await this.readers.reader(q);
    await this.ctx.whenReady(reader, signal);
    const startedAt = Date.now();
    // A pause of this process made while the reader was being got: its unblock found no read in
    // flight, so this read must not start (nothing is taken here after pause() resolved).
    if (signal.aborted || this.pauses.isKnownPaused(q)) return [];
    if (q.readerNode !== undefined && reader.status !== 'ready') {
      // A cluster node that stays down was replaced by a failover: find the slot's owner again.
      this.readers.drop(q, reader);
      throw new TransportError(`Redis Cluster node ${q.readerNode} is not reachable`);
    }
    // A blocked XREADGROUP cannot be cancelled client-side: unblock it from the command
    // connection so that shutdown does not wait for the block to end.
    const onAbort = (): void => void this.readers.unblock(q);
    signal.addEventListener('abort', onAbort, { once: true });
    q.blockUntil = Date.now() + blockMs;
    try {
      const reply = (await reader.xreadgroup(
        'GROUP',
        GROUP,
        this.ctx.consumer,
        'COUNT',
        max,
        'BLOCK',
        blockMs,
        'STREAMS',
        q.keys.stream,
        '>',
      )) as [string, [string, string[]][]][] | null;
      // A read that ended far past its block waited in a stalled Redis (or a stalled process).
      if (Date.now() - startedAt > blockMs + STALL_MS) this.ctx.noteOutage();
      if (!reply?.[0]) return [];
      try {
        return await this.priorities.sift(q, reply[0][1], max);
      } finally {
        releaseReply(reply);
      }
    } catch (error) {
      // The slot moved to another node (resharding, failover): read from its new owner next.
      if (q.readerNode !== undefined && /^(MOVED|ASK|CLUSTERDOWN)/.test((error as Error).message)) {
        this.readers.drop(q, reader);
      }
      throw error;
    } finally {
      q.blockUntil = 0;
      signal.removeEventListener('abort', onAbort);
    }
  }
}
