import { QueueInUseError } from '../../errors/queue-in-use.error.js';
import { transportError } from './redis-errors.js';
import { CONSUMER_GROUP as GROUP } from './redis-keys.js';
import type { RedisQueueContext } from './redis-queue.context.js';

/** Without force, a queue whose group had a consumer interact within this window is refused. */
const ACTIVE_WINDOW_MS = 5000;

/** Whole-queue admin: obliterate. */
export class RedisQueueAdmin {
  constructor(private readonly ctx: RedisQueueContext) {}

  /**
   * Removes every key of the queue in one script. Without `force`, refused while a consumer of
   * the queue's group interacted with Redis within max(5 s, visibilityTimeout): workers read at
   * least once a second while idle and heartbeat the jobs they run.
   */
  async obliterate(queue: string, force: boolean): Promise<number> {
    const q = this.ctx.state(queue);
    const k = q.keys;
    let reply: [number, string | number];
    try {
      reply = await this.ctx.client.eventsObliterate(
        k.stream,
        k.delayed,
        k.dead,
        k.stats,
        k.deadIndex,
        k.started,
        k.paused,
        k.levels,
        k.deadInfo,
        GROUP,
        Math.max(ACTIVE_WINDOW_MS, this.ctx.options.visibilityTimeout),
        force ? '1' : '0',
      );
      if (Number(reply[0]) === 1) await this.ctx.client.srem(this.ctx.keys.queues, queue);
    } catch (error) {
      throw transportError(`obliterating queue "${queue}"`, error);
    }
    if (Number(reply[0]) !== 1) throw new QueueInUseError(queue, String(reply[1]));
    // This process's worker, if any, finds the group gone and makes it again.
    q.hasGroup = false;
    q.cursor = '0-0';
    this.ctx.knownQueues.delete(queue);
    return Number(reply[1]);
  }
}
