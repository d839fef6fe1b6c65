import { ReplicationTimeoutError } from '../../errors/replication-timeout.error.js';
import { TransportError } from '../../errors/transport.error.js';
import { isClusterClient } from '../../redis/redis-connection.factory.js';
import type { NewJob } from '../queue-job.js';
import { emitError, transportError } from './redis-errors.js';
import type { RedisPromoter } from './redis-promoter.js';
import type { RedisQueueContext } from './redis-queue.context.js';
import { RedisReplicas } from './redis-replicas.js';
import { STORE_SCRIPT } from './redis-store-scripts.js';
import { delayedMember, isPrioritized, stagedMember } from './redis-members.js';

/** Single-job emits per script call. */
const ADD_BATCH = 500;

interface Waiter {
  readonly job: NewJob;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface PendingAdds {
  /** The stream; the levels key for prioritized emits; the stream and a marker for deduplicated ones. */
  readonly key: string;
  readonly stream: string;
  readonly levels: string;
  /** Emits that passed their own id: stored by the store script, which skips those seen. */
  readonly isDeduplicated: boolean;
  /** Stored by the store script (deduplicated or prioritized emits), not the add script. */
  readonly isStored: boolean;
  readonly now: number;
  readonly args: (string | number)[];
  readonly waiters: Waiter[];
}

/**
 * Stores jobs: the single-job emits of one tick in one script call per queue; any other emit
 * (several jobs, delayed, a new queue, an explicit id to deduplicate) with the store script, all
 * or none. With `replication`, an emit resolves once enough replicas acknowledged it.
 */
export class RedisEnqueuer {
  /** Single-job emits waiting for this tick's script call, by stream. */
  private readonly adds = new Map<string, PendingAdds>();
  private isAddScheduled = false;
  private readonly replicas: RedisReplicas | undefined;
  /** The SADD that lists a queue in the index, by queue: sent once per queue per process. */
  private readonly listing = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: RedisQueueContext,
    private readonly promoter: RedisPromoter,
  ) {
    const replication = ctx.options.replication;
    this.replicas = replication && new RedisReplicas(() => ctx.client, replication);
  }

  async enqueue(jobs: readonly NewJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const { client } = this.ctx;
    const unreachable = this.ctx.factory.unreachable(client);
    if (unreachable !== undefined) {
      // Nothing is buffered while the connection is down: say so now, naming the real cause.
      throw new TransportError(
        `Redis transport: storing ${describe(jobs)} failed (nothing was stored): ${unreachable}`,
      );
    }
    const unlisted = this.listQueues(jobs);
    if (unlisted !== undefined) {
      return unlisted.then(
        () => this.enqueue(jobs),
        (error: unknown) => {
          // Name the real cause ("Redis unreachable at ... since ...") when the link is down.
          throw transportError(
            `listing the queue of ${describe(jobs)} in the queue index (nothing was stored)`,
            this.ctx.factory.unreachable(client) ?? error,
            error,
          );
        },
      );
    }
    const now = Date.now();
    const [only] = jobs;
    if (jobs.length === 1 && only.delayMs <= 0 && only.group === undefined) {
      // The hot path: the single-job emits of this tick go to Redis in one script call per queue
      // (one more for those that passed their own id).
      return new Promise<void>((resolve, reject) => {
        const { stream, levels } = this.ctx.state(only.queue).keys;
        const isDeduplicated = only.isDeduplicated === true;
        // Deduplicated and prioritized emits batch apart, through the store script.
        const isStored = isDeduplicated || isPrioritized(only);
        // Prioritized emits batch under the levels key: a string the queue keeps, not one built
        // (and hashed) per emit.
        const key = isDeduplicated ? `${stream}\u0000seen` : isStored ? levels : stream;
        let batch = this.adds.get(key);
        if (!batch || batch.waiters.length >= ADD_BATCH) {
          if (batch) void this.sendAdds(batch);
          // The add script takes one enqueued-at time for the batch (one tick's emits).
          const args: (string | number)[] = isStored ? [] : [now];
          batch = { key, stream, levels, isDeduplicated, isStored, now, args, waiters: [] };
          this.adds.set(key, batch);
        }
        if (!isStored) batch.args.push(only.id, only.listener, only.payload);
        batch.waiters.push({ job: only, resolve, reject });
        if (!this.isAddScheduled) {
          this.isAddScheduled = true;
          process.nextTick(() => this.flushAdds());
        }
      });
    }
    // Emits of this tick waiting for their script call go first, in emit order.
    if (this.adds.size > 0) this.flushAdds();
    const eventId = only.eventId ?? only.id;
    const isDeduplicated = jobs.some((job) => job.isDeduplicated === true);
    try {
      if (isClusterClient(client)) await this.storeOnCluster(jobs, now);
      else {
        const stored = this.store(jobs, now);
        await Promise.all([stored, this.replicated(stored, eventId, isDeduplicated)]);
      }
    } catch (error) {
      throw emitError(
        `storing ${describe(jobs)}`,
        eventId,
        isDeduplicated,
        error,
        this.ctx.factory.unreachable(client),
      );
    }
    this.noteStored(jobs, now);
  }

  /**
   * One call of the store script for `jobs` (every queue of a standalone Redis, or one queue's
   * slot on a cluster): all of them or none, skipping the deduplicated ones already stored.
   */
  private store(jobs: readonly NewJob[], now: number): Promise<number> {
    const keys: string[] = [];
    const positions = new Map<string, number>();
    const position = (key: string): number => {
      let at = positions.get(key);
      if (at === undefined) {
        at = keys.push(key);
        positions.set(key, at);
      }
      return at;
    };
    // Queues are listed in the index beforehand (`listQueues`): the script's index slot stays unused.
    const argv: (string | number)[] = [now, this.ctx.options.dedupeWindowMs, 0, 0];
    for (const job of jobs) {
      const queueKeys = this.ctx.state(job.queue).keys;
      const seen = job.isDeduplicated ? position(this.ctx.keys.seen(job.queue, job.id)) : 0;
      if (job.delayMs > 0) {
        argv.push(position(queueKeys.delayed), seen, 'd');
        argv.push(Math.ceil(job.delayMs), delayedMember(job, now), '');
      } else if (job.group) {
        const { id, weight, concurrency, rateMax, rateMs } = job.group;
        const member = { id: job.id, l: job.listener, p: job.payload, a: '0', t: String(now) };
        const spec = { w: weight, c: concurrency, rm: rateMax, rd: rateMs };
        argv.push(position(queueKeys.groupReady), seen, 'g');
        argv.push(JSON.stringify(member), id, JSON.stringify(spec));
      } else if (isPrioritized(job)) {
        argv.push(position(queueKeys.levels), seen, 'q');
        argv.push(stagedMember(job, now), position(queueKeys.stream), job.priority ?? 0);
      } else {
        argv.push(position(queueKeys.stream), seen, 's', job.id, job.listener, job.payload);
      }
    }
    return this.callStore(keys, argv);
  }

  /**
   * The store script for a batch of single-job prioritized emits of one queue (`sendAdds`): the
   * arguments `store` would build, without its per-job lookups (one queue, no delay, no group, no
   * id to deduplicate).
   */
  private stage(batch: PendingAdds): Promise<number> {
    const { now } = batch;
    const argv: (string | number)[] = [now, this.ctx.options.dedupeWindowMs, 0, 0];
    for (const { job } of batch.waiters) {
      argv.push(1, 0, 'q', stagedMember(job, now), 2, job.priority ?? 0);
    }
    return this.callStore([batch.levels, batch.stream], argv);
  }

  private callStore(keys: string[], argv: (string | number)[]): Promise<number> {
    const { client } = this.ctx;
    // On a cluster, EVAL lets the client route by the script's first key; elsewhere EVALSHA.
    return isClusterClient(client)
      ? (client.eval(STORE_SCRIPT, keys.length, ...keys, ...argv) as Promise<number>)
      : this.ctx.client.eventsStore(keys.length, ...keys, ...argv);
  }

  /** Resolves once the replicas acknowledged the write just issued (without `replication`, at once). */
  private async replicated(
    written: Promise<unknown>,
    eventId: string,
    isDeduplicated: boolean,
  ): Promise<void> {
    if (!this.replicas) return;
    const { replicas, timeoutMs } = this.replicas.options;
    await this.replicas.after(
      written,
      (count) =>
        new ReplicationTimeoutError(
          eventId,
          count,
          replicas,
          replicationMessage(eventId, count, replicas, timeoutMs, isDeduplicated),
        ),
    );
  }

  /**
   * Lists the queues of `jobs` that this process has not listed yet in the queue index, before
   * their jobs are stored (so a stored job's queue is always listed): one SADD per queue per
   * process, shared by every emit that comes while it is in flight. Undefined when all are listed.
   * Emits that wait for it continue in emit order: they are callbacks of the same promise, after
   * the one that marks the queue listed.
   */
  private listQueues(jobs: readonly NewJob[]): Promise<unknown> | undefined {
    const { knownQueues } = this.ctx;
    let waits: Promise<void>[] | undefined;
    for (const { queue } of jobs) {
      if (knownQueues.has(queue)) continue;
      let listed = this.listing.get(queue);
      if (listed === undefined) {
        listed = this.ctx.client.sadd(this.ctx.keys.queues, queue).then(
          () => {
            this.listing.delete(queue);
            knownQueues.add(queue);
          },
          (error: unknown) => {
            this.listing.delete(queue);
            throw error;
          },
        );
        this.listing.set(queue, listed);
      }
      if (waits === undefined) waits = [listed];
      else if (!waits.includes(listed)) waits.push(listed);
    }
    if (waits === undefined) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits);
  }

  private noteStored(jobs: readonly NewJob[], now: number): void {
    for (const job of jobs) {
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
    if (this.adds.get(batch.key) === batch) this.adds.delete(batch.key);
    // Deduplicated or prioritized emits: one store script call, all or none (one queue: what refuses one job
    // refuses them all); skipped jobs count as stored.
    let written: Promise<number | number[]>;
    if (!batch.isStored)
      written = this.ctx.client.eventsAdd(batch.stream, batch.levels, ...batch.args);
    else {
      const stored = batch.isDeduplicated
        ? this.store(
            batch.waiters.map((w) => w.job),
            batch.now,
          )
        : this.stage(batch);
      written = stored.then(() => batch.waiters.length);
    }
    const acknowledged = this.replicas?.afterWrite();
    // A number: every job was stored; a list: per job, 1 stored or 0 refused.
    let codes: number | number[];
    let replicas = Infinity;
    try {
      codes = await written;
      if (acknowledged) replicas = await acknowledged;
    } catch (error) {
      const unreachable = this.ctx.factory.unreachable(this.ctx.client);
      for (const w of batch.waiters) {
        const eventId = w.job.eventId ?? w.job.id;
        w.reject(
          emitError(
            `storing ${describe([w.job])}`,
            eventId,
            batch.isDeduplicated,
            error,
            unreachable,
          ),
        );
      }
      return;
    }
    const required = this.replicas?.options.replicas ?? 0;
    if (typeof codes === 'number' && replicas >= required) {
      for (const w of batch.waiters) w.resolve();
      return;
    }
    const perJob = codes;
    batch.waiters.forEach((w, i) => {
      const eventId = w.job.eventId ?? w.job.id;
      if (typeof perJob !== 'number' && perJob[i] !== 1) {
        w.reject(
          emitError(
            `storing ${describe([w.job])}`,
            eventId,
            false,
            new TransportError('Redis refused the entry'),
            undefined,
          ),
        );
      } else if (replicas < required) {
        w.reject(
          new ReplicationTimeoutError(
            eventId,
            replicas,
            required,
            replicationMessage(
              eventId,
              replicas,
              required,
              this.replicas?.options.timeoutMs,
              false,
            ),
          ),
        );
      } else w.resolve();
    });
  }

  /**
   * On a Redis Cluster every queue is its own slot: the jobs of one queue are stored all or none
   * (one store script call per queue), those of several queues in parallel. If one queue's call
   * fails, the emit rejects although other queues may hold their jobs (a retried emit may run
   * those twice, unless it passed an explicit id).
   */
  private async storeOnCluster(jobs: readonly NewJob[], now: number): Promise<void> {
    const byQueue = new Map<string, NewJob[]>();
    for (const job of jobs) {
      const group = byQueue.get(job.queue);
      if (group) group.push(job);
      else byQueue.set(job.queue, [job]);
    }
    await Promise.all([...byQueue.values()].map((group) => this.store(group, now)));
  }
}

/** "job <id> of "<queue>"", "<n> jobs of event <id>" or "<n> jobs of <m> events", for messages. */
function describe(jobs: readonly NewJob[]): string {
  const [first] = jobs;
  if (jobs.length === 1) return `job ${first.id} of "${first.queue}"`;
  const events = new Set(jobs.map((job) => job.eventId ?? job.id)).size;
  if (events > 1) return `${jobs.length} jobs of ${events} events (emitMany)`;
  return `${jobs.length} jobs of event ${first.eventId ?? first.id}`;
}

function replicationMessage(
  eventId: string,
  count: number,
  required: number,
  timeoutMs: number | undefined,
  isDeduplicated: boolean,
): string {
  const retry = isDeduplicated
    ? 're-emitting with the same id stores nothing twice'
    : 'pass { id } to emit to make a retry safe';
  return `Redis transport: event ${eventId} was stored on the primary, but ${count} of ${required} replica(s) acknowledged it within replication.timeoutMs (${timeoutMs} ms): a failover now could lose it. Outcome unknown; ${retry}.`;
}
