import type { RedisBlockingReaders } from './redis-blocking-readers.js';
import { MAX_BLOCK_MS, type QueueState, type RedisQueueContext } from './redis-queue.context.js';

/** Delayed jobs moved per script call. */
const PROMOTE_BATCH = 1000;

/** Moves due delayed jobs and retries into their stream, and wakes the reader when one is due. */
export class RedisPromoter {
  constructor(
    private readonly ctx: RedisQueueContext,
    private readonly readers: RedisBlockingReaders,
  ) {}

  /** Moves due jobs (due on Redis's clock) and plans the next look on this process's clock. */
  async promote(q: QueueState, now: number): Promise<void> {
    const [moved, next, redisNow, levels] = await this.ctx.worker.eventsPromote(
      q.keys.delayed,
      q.keys.stream,
      q.keys.levels,
      PROMOTE_BATCH,
    );
    // Jobs wait in priority levels (stored by any process): read through the take script.
    q.isPrioritized = Number(levels) > 0;
    this.ctx.noteRedisTime(Number(redisNow));
    const nextDue = Number(next);
    const waitMs = nextDue >= 0 ? Math.max(0, nextDue - Number(redisNow)) : Infinity;
    q.promoteAt = moved >= PROMOTE_BATCH ? now : now + Math.min(waitMs, MAX_BLOCK_MS);
  }

  /** A job of this process became due earlier than the reader will look: wake it. */
  noteDue(q: QueueState, dueAt: number): void {
    if (dueAt >= q.promoteAt) return;
    q.promoteAt = dueAt;
    if (q.blockUntil > dueAt) void this.readers.unblock(q);
  }
}
