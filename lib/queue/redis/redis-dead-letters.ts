import type { DeadJob } from '../queue-job.js';
import { toDeadJob } from './redis-entries.js';
import { transportError } from './redis-errors.js';
import type { QueueKeys } from './redis-keys.js';
import type { RedisQueueContext } from './redis-queue.context.js';
import { SCRIPT_ID_BATCH } from './redis-scripts.js';

/** Dead-letter admin: list, retry and purge the dead jobs of a queue. */
export class RedisDeadLetters {
  constructor(private readonly ctx: RedisQueueContext) {}

  async listDead(queue: string, offset: number, limit: number): Promise<DeadJob[]> {
    try {
      const entries = (await this.ctx.client.xrange(
        this.ctx.state(queue).keys.dead,
        '-',
        '+',
        'COUNT',
        offset + limit,
      )) as [string, string[]][];
      return entries.slice(offset).map(([entry, fields]) => toDeadJob(queue, entry, fields));
    } catch (error) {
      throw transportError(`listing dead jobs of "${queue}"`, error);
    }
  }

  async retryDead(queue: string, id: string): Promise<number> {
    const { client } = this.ctx;
    const k = this.ctx.state(queue).keys;
    try {
      if (id === 'all') {
        let moved = 0;
        let left = await client.xlen(k.dead);
        while (left > 0) {
          const n = await client.eventsRetryDead(k.dead, k.stream, Date.now(), 'first', 500);
          if (n === 0) break;
          moved += n;
          left -= n;
        }
        return moved;
      }
      const entries = await this.findDead(k, id);
      let moved = 0;
      for (let i = 0; i < entries.length; i += SCRIPT_ID_BATCH) {
        const chunk = entries.slice(i, i + SCRIPT_ID_BATCH);
        moved += await client.eventsRetryDead(k.dead, k.stream, Date.now(), ...chunk);
      }
      return moved;
    } catch (error) {
      throw transportError(`retrying dead jobs of "${queue}"`, error);
    }
  }

  async purgeDead(queue: string): Promise<number> {
    try {
      return await this.ctx.client.eventsPurgeDead(this.ctx.state(queue).keys.dead);
    } catch (error) {
      throw transportError(`purging dead jobs of "${queue}"`, error);
    }
  }

  private async findDead(k: QueueKeys, id: string): Promise<string[]> {
    const found: string[] = [];
    let start = '-';
    for (;;) {
      const page = (await this.ctx.client.xrange(k.dead, start, '+', 'COUNT', 500)) as [
        string,
        string[],
      ][];
      for (const [entry, fields] of page) {
        if (toDeadJob('', entry, fields).id === id) found.push(entry);
      }
      if (page.length < 500) return found;
      start = `(${page[page.length - 1][0]}`;
    }
  }
}
