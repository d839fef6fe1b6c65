import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import type { DeadJob } from '../queue-job.js';
import { toDeadJob } from './redis-entries.js';
import { transportError } from './redis-errors.js';
import type { QueueKeys } from './redis-keys.js';
import type { RedisQueueContext } from './redis-queue.context.js';
import { SCRIPT_ID_BATCH } from './redis-scripts.js';

/** Dead jobs read per round trip by scans and deleted per script call by `pruneDead`. */
const DEAD_BATCH = 500;
/**
 * Dead jobs moved per script call by `retryDead('all')`. A call reads its dead entries (job id,
 * listener, payload: the error and stack are in the dead info hash) into Lua: small calls keep
 * that memory small, which measured about twice as fast per job as calls of 1,000
 * (bench/dead-retry.bench.js).
 */
const RETRY_ALL_BATCH = 200;
/** Script calls of `retryDead('all')` sent per round trip (pipelined, run one after another). */
const RETRY_ALL_CALLS = 50;

/** A pipeline with the retry script (ioredis adds defined scripts to pipelines too). */
interface RetryPipeline {
  eventsRetryDead(
    dead: string,
    stream: string,
    index: string,
    levels: string,
    info: string,
    ...argv: (string | number)[]
  ): void;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/**
 * Dead-letter admin: list, retry, forget, prune and purge the dead jobs of a queue. A hash indexes
 * each dead job's entry by job id, so that one job is found in O(1) and a page starts right after
 * the previous page's last job; dead entries written before the index existed are found by a scan.
 */
export class RedisDeadLetters {
  constructor(private readonly ctx: RedisQueueContext) {}

  /**
   * A page of dead jobs, oldest first: after the dead job `after` (O(limit)), or skipping
   * `offset` (O(offset + limit)); with `tag`, through that tag's sorted set (O(log n + limit)).
   */
  async listDead(
    queue: string,
    offset: number,
    limit: number,
    after?: string,
    tag?: string,
  ): Promise<DeadJob[]> {
    const k = this.ctx.state(queue).keys;
    try {
      if (tag !== undefined) {
        const [code, entries] = await this.ctx.client.eventsListDeadTagged(
          k.dead,
          k.deadIndex,
          k.deadInfo,
          tag,
          offset,
          limit,
          after ?? '',
        );
        if (code < 0) {
          throw new InvalidOptionError('after', after, `the id of a dead job tagged "${tag}"`);
        }
        return entries.map(([entry, fields, info]) => toDeadJob(queue, entry, fields, info));
      }
      let start = '-';
      if (after !== undefined) {
        const entry = await this.entryOf(k, after);
        if (entry === undefined) {
          throw new InvalidOptionError('after', after, 'the id of a job in the dead letters');
        }
        start = `(${entry}`;
      }
      const [, entries] = await this.ctx.client.eventsListDead(
        k.dead,
        k.deadInfo,
        start,
        offset,
        limit,
      );
      return entries.map(([entry, fields, info]) => toDeadJob(queue, entry, fields, info));
    } catch (error) {
      if (error instanceof InvalidOptionError) throw error;
      throw transportError(`listing dead jobs of "${queue}"`, error);
    }
  }

  /** One dead job by id, through the index; undefined when it is not dead. */
  async getDead(queue: string, id: string): Promise<DeadJob | undefined> {
    const k = this.ctx.state(queue).keys;
    try {
      const entry = await this.entryOf(k, id);
      if (entry === undefined) return undefined;
      const [[, range], [, info]] = (await this.ctx.client
        .multi()
        .xrange(k.dead, entry, entry)
        .hget(k.deadInfo, entry)
        .exec()) as [[unknown, [string, string[]][]], [unknown, string | null]];
      const [found] = range;
      return found ? toDeadJob(queue, found[0], found[1], info) : undefined;
    } catch (error) {
      throw transportError(`reading dead job ${id} of "${queue}"`, error);
    }
  }

  async retryDead(queue: string, id: string): Promise<number> {
    const { client } = this.ctx;
    const k = this.ctx.state(queue).keys;
    try {
      if (id === 'all') return await this.retryAllDead(k);
      const moved = await client.eventsRetryDead(
        k.dead,
        k.stream,
        k.deadIndex,
        k.levels,
        k.deadInfo,
        Date.now(),
        'job',
        id,
      );
      if (moved >= 0) return moved;
      // Not indexed, and the index does not cover every dead entry: scan for it.
      const entries = await this.scan(k, id);
      let total = 0;
      for (let i = 0; i < entries.length; i += SCRIPT_ID_BATCH) {
        const chunk = entries.slice(i, i + SCRIPT_ID_BATCH);
        total += await client.eventsRetryDead(
          k.dead,
          k.stream,
          k.deadIndex,
          k.levels,
          k.deadInfo,
          Date.now(),
          ...chunk,
        );
      }
      return total;
    } catch (error) {
      throw transportError(`retrying dead jobs of "${queue}"`, error);
    }
  }

  /**
   * Moves every dead job back, oldest first: the jobs there when it starts (and maybe some that
   * die meanwhile), in script calls of RETRY_ALL_BATCH, pipelined RETRY_ALL_CALLS at a time.
   */
  private async retryAllDead(k: QueueKeys): Promise<number> {
    let moved = 0;
    let left = await this.ctx.client.xlen(k.dead);
    while (left > 0) {
      const batch = this.ctx.client.pipeline() as unknown as RetryPipeline;
      const calls = Math.min(RETRY_ALL_CALLS, Math.ceil(left / RETRY_ALL_BATCH));
      for (let i = 0; i < calls; i++) {
        batch.eventsRetryDead(
          k.dead,
          k.stream,
          k.deadIndex,
          k.levels,
          k.deadInfo,
          Date.now(),
          'first',
          RETRY_ALL_BATCH,
        );
      }
      let got = 0;
      for (const [error, n] of (await batch.exec()) ?? []) {
        if (error) throw error;
        got += n as number;
      }
      if (got === 0) break;
      moved += got;
      left -= got;
    }
    return moved;
  }

  /** Deletes one dead job; whether there was one. */
  async forgetDead(queue: string, id: string): Promise<boolean> {
    const k = this.ctx.state(queue).keys;
    try {
      const found = await this.ctx.client.eventsForgetDead(
        k.dead,
        k.deadIndex,
        k.deadInfo,
        'job',
        id,
      );
      if (found >= 0) return found === 1;
      let deleted = 0;
      for (const entry of await this.scan(k, id)) {
        deleted += await this.ctx.client.eventsForgetDead(
          k.dead,
          k.deadIndex,
          k.deadInfo,
          'entry',
          entry,
        );
      }
      return deleted > 0;
    } catch (error) {
      throw transportError(`forgetting dead job ${id} of "${queue}"`, error);
    }
  }

  /**
   * Deletes the dead jobs that died more than `olderThanMs` ago; returns how many. Then sweeps
   * the info hash for fields an older version's forget, prune or purge left behind.
   */
  async pruneDead(queue: string, olderThanMs: number): Promise<number> {
    const k = this.ctx.state(queue).keys;
    try {
      let pruned = 0;
      for (;;) {
        const n = await this.ctx.client.eventsPruneDead(
          k.dead,
          k.deadIndex,
          k.deadInfo,
          olderThanMs,
          DEAD_BATCH,
        );
        pruned += n;
        if (n < DEAD_BATCH) break;
      }
      let cursor = '0';
      do {
        [cursor] = await this.ctx.client.eventsSweepDeadInfo(
          k.dead,
          k.deadInfo,
          cursor,
          DEAD_BATCH,
        );
      } while (cursor !== '0');
      return pruned;
    } catch (error) {
      throw transportError(`pruning dead jobs of "${queue}"`, error);
    }
  }

  async purgeDead(queue: string): Promise<number> {
    const k = this.ctx.state(queue).keys;
    try {
      return await this.ctx.client.eventsPurgeDead(k.dead, k.deadIndex, k.deadInfo);
    } catch (error) {
      throw transportError(`purging dead jobs of "${queue}"`, error);
    }
  }

  /** The dead entry of a job: through the index, else by a scan if the index is partial. */
  private async entryOf(k: QueueKeys, id: string): Promise<string | undefined> {
    const [[, indexed], [, indexLength], [, deadLength]] = (await this.ctx.client
      .multi()
      .hget(k.deadIndex, id)
      .hlen(k.deadIndex)
      .xlen(k.dead)
      .exec()) as [unknown, unknown][];
    if (typeof indexed === 'string') return indexed;
    if (Number(indexLength) >= Number(deadLength)) return undefined;
    return (await this.scan(k, id)).at(-1);
  }

  /** Every dead entry of a job, by reading the whole dead stream (pre-index entries only). */
  private async scan(k: QueueKeys, id: string): Promise<string[]> {
    const found: string[] = [];
    let start = '-';
    for (;;) {
      const page = (await this.ctx.client.xrange(k.dead, start, '+', 'COUNT', DEAD_BATCH)) as [
        string,
        string[],
      ][];
      for (const [entry, fields] of page) {
        if (toDeadJob('', entry, fields).id === id) found.push(entry);
      }
      if (page.length < DEAD_BATCH) return found;
      start = `(${page[page.length - 1][0]}`;
    }
  }
}
