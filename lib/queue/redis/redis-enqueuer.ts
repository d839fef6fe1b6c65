import { isClusterClient } from '../../redis/redis-connection.factory.js';
import type { NewJob } from '../queue-job.js';
import { transportError } from './redis-errors.js';
import type { RedisPromoter } from './redis-promoter.js';
import type { RedisQueueContext } from './redis-queue.context.js';
import { DELAY_SCRIPT } from './redis-delivery-scripts.js';

/** Single-job emits per script call. */
const ADD_BATCH = 500;

interface PendingAdds {
  readonly stream: string;
  readonly args: (string | number)[];
  readonly waiters: { job: NewJob; resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * Stores jobs: the single-job emits of one tick in one script call per queue, an emit of several
 * jobs all or none (MULTI), delayed jobs in the queue's sorted set.
 */
export class RedisEnqueuer {
  /** Single-job emits waiting for this tick's script call, by stream. */
  private readonly adds = new Map<string, PendingAdds>();
  private isAddScheduled = false;

  constructor(
    private readonly ctx: RedisQueueContext,
    private readonly promoter: RedisPromoter,
  ) {}

  async enqueue(jobs: readonly NewJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const { client, knownQueues } = this.ctx;
    const now = Date.now();
    const [only] = jobs;
    if (jobs.length === 1 && only.delayMs <= 0 && knownQueues.has(only.queue)) {
      // The hot path: the single-job emits of this tick go to Redis in one script call per queue.
      return new Promise<void>((resolve, reject) => {
        const stream = this.ctx.state(only.queue).keys.stream;
        let batch = this.adds.get(stream);
        if (!batch || batch.waiters.length >= ADD_BATCH) {
          if (batch) void this.sendAdds(batch);
          batch = { stream, args: [], waiters: [] };
          this.adds.set(stream, batch);
        }
        batch.args.push(only.id, only.listener, only.payload, now);
        batch.waiters.push({ job: only, resolve, reject });
        if (!this.isAddScheduled) {
          this.isAddScheduled = true;
          process.nextTick(() => this.flushAdds());
        }
      });
    }
    // Emits of this tick waiting for their script call go first, in emit order.
    if (this.adds.size > 0) this.flushAdds();
    if (isClusterClient(client)) return this.enqueueOnCluster(jobs, now);
    // One emit, one round trip; MULTI when several jobs, so they are stored all or none.
    const batch = jobs.length > 1 ? client.multi() : client.pipeline();
    for (const job of jobs) {
      const keys = this.ctx.state(job.queue).keys;
      if (!knownQueues.has(job.queue)) batch.sadd(this.ctx.keys.queues, job.queue);
      if (job.delayMs > 0) {
        batch.eval(DELAY_SCRIPT, 1, keys.delayed, Math.ceil(job.delayMs), delayedMember(job, now));
      } else {
        batch.xadd(keys.stream, '*', 'id', job.id, 'l', job.listener, 'p', job.payload, 't', now);
      }
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await batch.exec();
    } catch (error) {
      throw transportError(`storing ${jobs.length} job(s) of "${jobs[0].queue}"`, error);
    }
    const failed =
      results?.find(([error]) => error) ?? (results ? undefined : [new Error('aborted')]);
    if (failed) throw transportError(`storing ${jobs.length} job(s)`, failed[0]);
    this.noteStored(jobs, now);
  }

  private noteStored(jobs: readonly NewJob[], now: number): void {
    for (const job of jobs) {
      this.ctx.knownQueues.add(job.queue);
      // Due on Redis's clock; this process only wakes its reader about then.
      if (job.delayMs > 0) this.promoter.noteDue(this.ctx.state(job.queue), now + job.delayMs);
    }
  }

  private flushAdds(): void {
    this.isAddScheduled = false;
    const batches = [...this.adds.values()];
    this.adds.clear();
    for (const batch of batches) void this.sendAdds(batch);
  }

  private async sendAdds(batch: PendingAdds): Promise<void> {
    if (this.adds.get(batch.stream) === batch) this.adds.delete(batch.stream);
    let codes: number[];
    try {
      codes = await this.ctx.client.eventsAdd(batch.stream, ...batch.args);
    } catch (error) {
      for (const w of batch.waiters) {
        w.reject(transportError(`storing job ${w.job.id} of "${w.job.queue}"`, error));
      }
      return;
    }
    batch.waiters.forEach((w, i) =>
      codes[i] === 1
        ? w.resolve()
        : w.reject(
            transportError(
              `storing job ${w.job.id} of "${w.job.queue}"`,
              new Error('Redis refused the entry'),
            ),
          ),
    );
  }

  /**
   * On a Redis Cluster every queue is its own slot: the jobs of one queue are stored all or none
   * (one MULTI per queue), those of several queues in parallel. If one queue's MULTI fails, the
   * emit rejects although other queues may hold their jobs (a retried emit may run those twice,
   * as at-least-once allows). The queue index is written first, so a stored job's queue is listed.
   */
  private async enqueueOnCluster(jobs: readonly NewJob[], now: number): Promise<void> {
    const { client } = this.ctx;
    const byQueue = new Map<string, NewJob[]>();
    for (const job of jobs) byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
    const unknown = [...byQueue.keys()].filter((q) => !this.ctx.knownQueues.has(q));
    try {
      if (unknown.length > 0) await client.sadd(this.ctx.keys.queues, ...unknown);
      await Promise.all(
        [...byQueue].map(async ([queue, group]) => {
          const keys = this.ctx.state(queue).keys;
          const batch = client.multi();
          for (const job of group) {
            if (job.delayMs > 0) {
              batch.eval(
                DELAY_SCRIPT,
                1,
                keys.delayed,
                Math.ceil(job.delayMs),
                delayedMember(job, now),
              );
            } else {
              batch.xadd(
                keys.stream,
                '*',
                'id',
                job.id,
                'l',
                job.listener,
                'p',
                job.payload,
                't',
                now,
              );
            }
          }
          const results = await batch.exec();
          const failed =
            results?.find(([error]) => error) ?? (results ? undefined : [new Error('aborted')]);
          if (failed) throw failed[0];
        }),
      );
    } catch (error) {
      throw transportError(`storing ${jobs.length} job(s) of "${jobs[0].queue}"`, error);
    }
    this.noteStored(jobs, now);
  }
}

/** A delayed job as its sorted-set member. */
function delayedMember(job: NewJob, now: number): string {
  return JSON.stringify({ id: job.id, l: job.listener, p: job.payload, a: '0', t: String(now) });
}
