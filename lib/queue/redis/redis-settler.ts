import { tagsOfPayload } from '../../event/event-tags.js';
import { SettleOutcomeUnknownError } from '../../errors/settle-outcome-unknown.error.js';
import { StaleJobError } from '../../errors/transport.error.js';
import type { JobFailure, ReservedJob } from '../queue-job.js';
import { compareEntryIds, parseReceipt } from './redis-entries.js';
import { assertSettled, settleError, STALE, transportError } from './redis-errors.js';
import { CONSUMER_GROUP as GROUP } from './redis-keys.js';
import type { RedisGroups } from './redis-groups.js';
import type { RedisPromoter } from './redis-promoter.js';
import type { QueueState, RedisQueueContext } from './redis-queue.context.js';
import { RedisReplicas } from './redis-replicas.js';
import { SCRIPT_ID_BATCH } from './redis-scripts.js';

/** Acknowledgements per script call. */
const ACK_BATCH = Math.min(500, SCRIPT_ID_BATCH);

/**
 * Ends or extends what this process holds: acknowledgements (batched), retries and releases
 * (back to the stream or the delayed set), dead letters, heartbeats. Every settle is fenced by
 * the receipt: a job reclaimed by another consumer meanwhile is refused as stale.
 */
export class RedisSettler {
  /** With `replication.settles`: settles wait for the replicas too. */
  private readonly replicas: RedisReplicas | undefined;

  constructor(
    private readonly ctx: RedisQueueContext,
    private readonly promoter: RedisPromoter,
    private readonly groups: RedisGroups,
  ) {
    const replication = ctx.options.replication;
    if (replication?.settles) this.replicas = new RedisReplicas(() => ctx.worker, replication);
  }

  /**
   * With `replication.settles`: waits for the replicas after a settle just issued, and throws
   * `SettleOutcomeUnknownError` when too few acknowledged (done on the primary; repeating it is
   * refused as stale, which the worker reads as done).
   */
  private async replicated(written: Promise<unknown>, jobIds: readonly string[]): Promise<void> {
    if (!this.replicas) return;
    const { replicas, timeoutMs } = this.replicas.options;
    await this.replicas.after(
      written,
      (count) =>
        new SettleOutcomeUnknownError(
          jobIds,
          `Redis transport: settled on the primary, but ${count} of ${replicas} replica(s) acknowledged within replication.timeoutMs (${timeoutMs} ms)`,
        ),
    );
  }

  /** Why the worker connection cannot reach Redis now, if it cannot (for messages). */
  private unreachable(): string | undefined {
    return this.ctx.factory.unreachable(this.ctx.worker);
  }

  ack(job: ReservedJob): Promise<void> {
    const q = this.ctx.state(job.queue);
    return new Promise<void>((resolve, reject) => {
      q.acks.push({ job, resolve, reject });
      if (!q.isFlushing) {
        // Sent once this tick's code is over: the acks of the jobs it ran go in one batch.
        q.isFlushing = true;
        process.nextTick(() => void this.flushAcks(q));
      }
    });
  }

  async retry(job: ReservedJob, delayMs: number, _failure: JobFailure): Promise<void> {
    await this.requeue(job, delayMs, job.attempt, true);
  }

  /** A released grouped job goes back to the head of its group, its slot freed. */
  async release(job: ReservedJob, delayMs: number): Promise<void> {
    await this.requeue(job, delayMs, job.attempt - 1, false);
  }

  async deadLetter(job: ReservedJob, failure: JobFailure): Promise<void> {
    const q = this.ctx.state(job.queue);
    const [entry, deliveries] = parseReceipt(job);
    const isFailure = failure.reason !== 'malformed' && failure.reason !== 'unknown-listener';
    let code: number;
    try {
      const written = this.ctx.worker.eventsDeadLetter(
        q.keys.stream,
        q.keys.dead,
        q.keys.stats,
        q.keys.deadIndex,
        q.keys.deadInfo,
        GROUP,
        this.ctx.consumer,
        entry,
        deliveries,
        job.attempt,
        failure.reason,
        failure.message,
        failure.stack ?? '',
        Date.now(),
        isFailure ? '1' : '0',
        tagsOfPayload(job.payload).join('\n'),
      );
      await Promise.all([written, this.replicated(written, [job.id])]);
      code = await written;
    } catch (error) {
      throw settleError(`dead-lettering job ${job.id}`, [job.id], error, this.unreachable());
    }
    this.ctx.noteReleased(entry);
    assertSettled(code, job.id);
    if (job.group !== undefined) await this.groups.settle([job]);
  }

  async heartbeat(jobs: readonly ReservedJob[]): Promise<readonly ReservedJob[]> {
    const byQueue = new Map<string, ReservedJob[]>();
    for (const job of jobs) {
      const held = byQueue.get(job.queue) ?? [];
      held.push(job);
      byQueue.set(job.queue, held);
    }
    const calls: Promise<ReservedJob[]>[] = [];
    for (const [queue, held] of byQueue) {
      const stream = this.ctx.state(queue).keys.stream;
      // In entry order, so that each chunk's id range holds few other entries of this consumer.
      const entry = (job: ReservedJob): string =>
        job.receipt.slice(0, job.receipt.lastIndexOf('/'));
      const sorted = [...held].sort((a, b) => compareEntryIds(entry(a), entry(b)));
      for (let i = 0; i < sorted.length; i += SCRIPT_ID_BATCH) {
        calls.push(this.extend(stream, sorted.slice(i, i + SCRIPT_ID_BATCH)));
      }
    }
    try {
      const lost = (await Promise.all(calls)).flat();
      if (jobs.some((job) => job.group !== undefined)) {
        await this.groups.extend(jobs.filter((job) => !lost.includes(job)));
      }
      return lost;
    } catch (error) {
      // Other workers' heartbeats may be failing too: their jobs are not abandoned.
      this.ctx.noteOutage();
      throw transportError('extending running jobs', error);
    }
  }

  /** Extends one chunk of one queue's jobs; resolves with those no longer held. */
  private async extend(stream: string, jobs: ReservedJob[]): Promise<ReservedJob[]> {
    const lost: ReservedJob[] = [];
    const pairs: string[] = [];
    const sent: ReservedJob[] = [];
    for (const job of jobs) {
      const slash = job.receipt.lastIndexOf('/');
      if (slash < 0) lost.push(job);
      else {
        const entry = job.receipt.slice(0, slash);
        pairs.push(entry, job.receipt.slice(slash + 1));
        sent.push(job);
        // The worker still holds it, whatever Redis answers (or fails to) below.
        this.ctx.noteHeld(entry);
      }
    }
    if (sent.length === 0) return lost;
    let low = pairs[0];
    let high = pairs[0];
    for (let i = 2; i < pairs.length; i += 2) {
      if (compareEntryIds(pairs[i], low) < 0) low = pairs[i];
      if (compareEntryIds(pairs[i], high) > 0) high = pairs[i];
    }
    const held = await this.ctx.worker.eventsHeartbeat(
      stream,
      this.ctx.state(jobs[0].queue).keys.started,
      GROUP,
      this.ctx.consumer,
      low,
      high,
      ...pairs,
    );
    sent.forEach((job, i) => {
      if (held[i] === 1) return;
      lost.push(job);
      this.ctx.noteReleased(pairs[2 * i]);
    });
    return lost;
  }

  /** Waits until every acknowledgement asked for so far was sent. */
  async drainAcks(q: QueueState): Promise<void> {
    while (q.isFlushing || q.acks.length > 0) {
      if (!q.isFlushing) await this.flushAcks(q);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private async requeue(
    job: ReservedJob,
    delayMs: number,
    attemptsMade: number,
    isFailure: boolean,
  ): Promise<void> {
    const q = this.ctx.state(job.queue);
    const [entry, deliveries] = parseReceipt(job);
    let code: number;
    try {
      const written = this.ctx.worker.eventsRequeue(
        q.keys.stream,
        q.keys.delayed,
        q.keys.stats,
        q.keys.levels,
        GROUP,
        this.ctx.consumer,
        entry,
        deliveries,
        Math.max(0, Math.ceil(delayMs)),
        attemptsMade,
        isFailure ? '1' : '0',
        // Grouped jobs: a retry keeps its slot (groupConcurrency), a release goes to the head.
        isFailure ? '1' : '0',
        this.groups.leaseMs,
        isFailure ? '0' : '1',
      );
      await Promise.all([written, this.replicated(written, [job.id])]);
      code = await written;
    } catch (error) {
      throw settleError(`requeueing job ${job.id}`, [job.id], error, this.unreachable());
    }
    this.ctx.noteReleased(entry);
    assertSettled(code, job.id);
    // Due on Redis's clock; this process only wakes its reader about then.
    if (delayMs > 0) this.promoter.noteDue(q, Date.now() + delayMs);
  }

  /** Sends acknowledgements in batches: what piles up while one batch is in flight goes next. */
  private async flushAcks(q: QueueState): Promise<void> {
    q.isFlushing = true;
    try {
      while (q.acks.length > 0) {
        const batch = q.acks.splice(0, ACK_BATCH);
        const entries: string[] = [];
        // Jobs of a queue with groups: their slots are freed by the ack itself (one round trip).
        const isGrouped = batch.some((a) => a.job.group !== undefined);
        const args: string[] = isGrouped ? [q.keys.base] : [];
        try {
          let low = '';
          let high = '';
          for (const { job } of batch) {
            const [entry, deliveries] = parseReceipt(job);
            entries.push(entry);
            args.push(entry, deliveries);
            if (isGrouped) args.push(job.group ?? '', job.id);
            // Jobs end about in the order they were read: most entries only raise the high end.
            if (high === '') low = high = entry;
            else if (compareEntryIds(entry, high) > 0) high = entry;
            else if (compareEntryIds(entry, low) < 0) low = entry;
          }
          const script = isGrouped ? 'eventsGroupAck' : 'eventsAck';
          const written = this.ctx.worker[script](
            q.keys.stream,
            q.keys.stats,
            GROUP,
            this.ctx.consumer,
            low,
            high,
            ...args,
          );
          // A number: every job was acknowledged; a list: per job, 1 or STALE.
          const codes = this.replicas
            ? (
                await Promise.all([
                  written,
                  this.replicated(
                    written,
                    batch.map((a) => a.job.id),
                  ),
                ])
              )[0]
            : await written;
          batch.forEach((a, i) => {
            this.ctx.noteReleased(entries[i]);
            if (typeof codes !== 'number' && codes[i] === STALE) {
              a.reject(new StaleJobError(a.job.id));
            } else a.resolve();
          });
        } catch (error) {
          const failure = settleError(
            `acknowledging ${batch.length} job(s)`,
            batch.map((a) => a.job.id),
            error,
            this.unreachable(),
          );
          for (const a of batch) a.reject(failure);
        }
      }
    } finally {
      q.isFlushing = false;
    }
  }
}
