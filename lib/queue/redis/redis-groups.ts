import type { Writable } from 'node:stream';
import { Logger } from '@nestjs/common';
import type { QueueGroup } from '../flow/queue-group.js';
import type { ReservedJob } from '../queue-job.js';
import type { RedisBlockingReaders } from './redis-blocking-readers.js';
import { releaseReply, toJob } from './redis-entries.js';
import { transportError } from './redis-errors.js';
import { CONSUMER_GROUP as GROUP } from './redis-keys.js';
import type { QueueState, RedisQueueContext } from './redis-queue.context.js';

/** An XREADGROUP reply: per stream, its entries (id, fields). */
type ReadReply = [string, [string, string[]][]][] | null;

/**
 * Groups of a queue on Redis (`@ShouldQueue({ group })`): takes jobs in fair order, waits for a
 * group to become ready on a wake token (never by polling groups), frees and renews slot leases.
 * See `redis-group-scripts.ts` for the layout and the guarantees.
 */
export class RedisGroups {
  private readonly logger = new Logger(RedisGroups.name);

  constructor(
    private readonly ctx: RedisQueueContext,
    private readonly readers: RedisBlockingReaders,
  ) {}

  /**
   * A slot's lease: twice the visibility timeout, so that a job reclaimed from a dead worker
   * (after one timeout) renews its slot before the lease ends and its group stays in order.
   */
  get leaseMs(): number {
    return 2 * this.ctx.options.visibilityTimeout;
  }

  /**
   * Takes up to `max` jobs in fair order; when none can start, waits up to `blockMs` (less when
   * a rate-limited group comes back sooner) for the wake token, and resolves with `[]`.
   */
  async take(
    q: QueueState,
    max: number,
    blockMs: number,
    signal: AbortSignal,
  ): Promise<ReservedJob[]> {
    const { keys } = q;
    // The take moves the jobs it chose to the stream; the read sent right behind it on the same
    // connection delivers them. Read by the script, the entries would cost Redis a conversion to
    // Lua and back (about a quarter of the take's time). Another consumer's read may come in
    // between and get some: by then they are ordinary stream entries, each delivered once.
    // Both in one socket write: each write wakes Redis (and costs this process a system call).
    const { worker } = this.ctx;
    const socket = (worker as { stream?: Partial<Writable> }).stream;
    socket?.cork?.();
    let sent: [Promise<[number, string, number]>, Promise<ReadReply>];
    try {
      sent = [
        worker.eventsGroupTake(keys.groupReady, keys.stream, keys.base, max, this.leaseMs),
        worker.xreadgroup(
          'GROUP',
          GROUP,
          this.ctx.consumer,
          'COUNT',
          max,
          'STREAMS',
          keys.stream,
          '>',
        ) as Promise<ReadReply>,
      ];
    } finally {
      socket?.uncork?.();
    }
    const [took, read] = await Promise.allSettled(sent);
    if (read.status === 'rejected') throw read.reason;
    if (took.status === 'fulfilled') this.ctx.noteRedisTime(Number(took.value[2]));
    const reply = read.value;
    if (reply?.[0] && reply[0][1].length > 0) {
      if (took.status === 'rejected') {
        // Nothing moved (a script is atomic); what was read is delivered, so it is handed out.
        this.logger.warn(`Queue "${q.name}": taking from groups failed: ${took.reason}`);
      }
      try {
        return reply[0][1].map(([entry, fields]) => toJob(q.name, entry, 1, fields));
      } finally {
        // As for a plain read: cut the reply's arrays so that no old one keeps the jobs alive.
        releaseReply(reply);
      }
    }
    if (took.status === 'rejected') throw took.reason;
    const [, next, redisNow] = took.value;
    const nextDue = Number(next);
    const waitMs =
      nextDue >= 0 ? Math.max(1, Math.min(blockMs, nextDue - Number(redisNow))) : blockMs;
    const reader = await this.readers.reader(q);
    await this.ctx.whenReady(reader, signal);
    if (signal.aborted) return [];
    // A blocked BLPOP cannot be cancelled client-side: unblock it on shutdown.
    const onAbort = (): void => void this.readers.unblock(q);
    signal.addEventListener('abort', onAbort, { once: true });
    q.blockUntil = Date.now() + waitMs;
    try {
      await reader.blpop(keys.groupWake, waitMs / 1000);
    } finally {
      q.blockUntil = 0;
      signal.removeEventListener('abort', onAbort);
    }
    return [];
  }

  /**
   * Frees the slots of grouped jobs whose attempt ended (acknowledged, dead-lettered). A failure
   * is logged, not thrown: the job is settled, and its lease ends by itself.
   */
  async settle(jobs: readonly ReservedJob[]): Promise<void> {
    await this.call(jobs, 'freeing group slots', (q, pairs) =>
      this.ctx.worker.eventsGroupSettle(q.keys.groupReady, q.keys.base, ...pairs),
    );
  }

  /** Renews the slot leases of grouped jobs still held (heartbeats, reclaims). */
  async extend(jobs: readonly ReservedJob[]): Promise<void> {
    await this.call(jobs, 'renewing group slots', (q, pairs) =>
      this.ctx.worker.eventsGroupExtend(q.keys.groupReady, q.keys.base, this.leaseMs, ...pairs),
    );
  }

  async pause(queue: string, group: string, isPaused: boolean): Promise<void> {
    const { keys } = this.ctx.state(queue);
    try {
      await this.ctx.client.eventsGroupPause(
        keys.groupReady,
        keys.base,
        group,
        isPaused ? '1' : '0',
      );
    } catch (error) {
      const verb = isPaused ? 'pausing' : 'resuming';
      throw transportError(`${verb} group "${group}" of queue "${queue}"`, error);
    }
  }

  async list(queue: string, offset: number, limit: number): Promise<QueueGroup[]> {
    const { keys } = this.ctx.state(queue);
    try {
      const rows = await this.ctx.client.eventsGroupList(keys.groupReady, keys.base, offset, limit);
      return rows.map(([id, waiting, active, paused, limitedUntil]) => ({
        id,
        waiting: Number(waiting),
        active: Number(active),
        paused: Number(paused) === 1,
        ...(limitedUntil !== '' && { limitedUntil: Number(limitedUntil) }),
      }));
    } catch (error) {
      throw transportError(`listing the groups of queue "${queue}"`, error);
    }
  }

  /** Grouped jobs waiting in their groups (for counts). */
  async waiting(queue: string): Promise<number> {
    return Number(await this.ctx.client.get(this.ctx.state(queue).keys.groupWaiting)) || 0;
  }

  private async call(
    jobs: readonly ReservedJob[],
    what: string,
    send: (q: QueueState, pairs: string[]) => Promise<unknown>,
  ): Promise<void> {
    const byQueue = new Map<string, string[]>();
    for (const job of jobs) {
      if (job.group === undefined) continue;
      const pairs = byQueue.get(job.queue) ?? [];
      pairs.push(job.group, job.id);
      byQueue.set(job.queue, pairs);
    }
    await Promise.all(
      [...byQueue].map(([queue, pairs]) =>
        send(this.ctx.state(queue), pairs).catch((error: unknown) => {
          this.logger.warn(`Queue "${queue}": ${what} failed (leases end by themselves): ${error}`);
        }),
      ),
    );
  }
}
