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

  async promote(q: QueueState, now: number): Promise<void> {
    const [moved, next] = await this.ctx.worker.eventsPromote(
      q.keys.delayed,
      q.keys.stream,
      now,
      PROMOTE_BATCH,
    );
    const nextDue = Number(next);
    q.promoteAt =
      moved >= PROMOTE_BATCH
        ? now
        : Math.min(nextDue >= 0 ? nextDue : Infinity, now + MAX_BLOCK_MS);
  }

  /** A job of this process became due earlier than the reader will look: wake it. */
  noteDue(q: QueueState, dueAt: number): void {
    if (dueAt >= q.promoteAt) return;
    q.promoteAt = dueAt;
    if (q.blockUntil > dueAt) void this.readers.unblock(q);
  }
}
