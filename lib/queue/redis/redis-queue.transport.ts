import { RedisPriorityReader } from './redis-priority-reader.js';
import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import { Logger } from '@nestjs/common';
import type { ResolvedEventsOptions } from '../../events.options.js';
import { RedisConnectionFactory } from '../../redis/redis-connection.factory.js';
import { checkRedisServer } from '../../redis/redis-server-check.js';
import type { DeadJob, JobFailure, NewJob, QueueCounts, ReservedJob } from '../queue-job.js';
import type {
  QueueTransport,
  QueueWatch,
  ReserveOptions,
  WatchedEntry,
} from '../queue-transport.interface.js';
import type { QueueGroup } from '../flow/queue-group.js';
import type { LiveJobState, StoredQueuedJob } from '../queued-job.js';
import { lastMinutes, type QueueMinute } from '../queue-history.js';
import { RedisBlockingReaders } from './redis-blocking-readers.js';
import { RedisDeadLetters } from './redis-dead-letters.js';
import { RedisEnqueuer } from './redis-enqueuer.js';
import { transportError } from './redis-errors.js';
import { CONSUMER_GROUP as GROUP_NAME } from './redis-keys.js';
import { RedisGroups } from './redis-groups.js';
import { RedisPauses } from './redis-pauses.js';
import { RedisPromoter } from './redis-promoter.js';
import { RedisJobListing } from './redis-job-listing.js';
import { RedisJobRemoval } from './redis-job-removal.js';
import type { PayloadMatch, RemovedJobs } from '../flow/job-removal.js';
import { RedisQueueAdmin } from './redis-queue-admin.js';
import { RedisQueueContext, type Client } from './redis-queue.context.js';
import { RedisReserver } from './redis-reserver.js';
import { RedisScheduleStore } from './redis-schedule.store.js';
import { defineScripts } from './redis-scripts.js';
import { RedisSettler } from './redis-settler.js';
import { RedisWatcher } from './redis-watcher.js';

/**
 * The durable transport: one Redis stream per queue read through one consumer group (this
 * process is one consumer), a sorted set for delayed jobs and retries, a dead-letter stream.
 * A job is deleted from its stream once acknowledged, so memory follows the backlog.
 *
 * A facade: storing, reading and reclaiming, settling, delayed promotion and dead-letter admin
 * each live in their own role object, all sharing one {@link RedisQueueContext}.
 */
export class RedisQueueTransport implements QueueTransport {
  readonly kind = 'redis';
  readonly isDurable = true;
  private readonly logger = new Logger(RedisQueueTransport.name);
  private readonly ctx: RedisQueueContext;
  private readonly enqueuer: RedisEnqueuer;
  private readonly reserver: RedisReserver;
  private readonly settler: RedisSettler;
  private readonly deadLetters: RedisDeadLetters;
  private readonly admin: RedisQueueAdmin;
  private readonly listing: RedisJobListing;
  private readonly removal: RedisJobRemoval;
  private readonly pauses: RedisPauses;
  private readonly watcher: RedisWatcher;
  private readonly groupsOf: RedisGroups;
  private scheduleStore: RedisScheduleStore | undefined;

  constructor(client: Client, factory: RedisConnectionFactory, options: ResolvedEventsOptions) {
    this.ctx = new RedisQueueContext(client, factory, options);
    const readers = new RedisBlockingReaders(this.ctx);
    const promoter = new RedisPromoter(this.ctx, readers);
    this.enqueuer = new RedisEnqueuer(this.ctx, promoter);
    this.pauses = new RedisPauses(this.ctx, readers);
    this.groupsOf = new RedisGroups(this.ctx, readers);
    this.reserver = new RedisReserver(
      this.ctx,
      readers,
      promoter,
      this.pauses,
      this.groupsOf,
      new RedisPriorityReader(this.ctx),
    );
    this.settler = new RedisSettler(this.ctx, promoter, this.groupsOf);
    this.deadLetters = new RedisDeadLetters(this.ctx);
    this.admin = new RedisQueueAdmin(this.ctx);
    this.listing = new RedisJobListing(this.ctx, this.deadLetters);
    this.removal = new RedisJobRemoval(this.ctx);
    this.watcher = new RedisWatcher(this.ctx);
  }

  get schedules(): RedisScheduleStore {
    return (this.scheduleStore ??= new RedisScheduleStore(this.ctx));
  }

  /** This process's consumer name in every queue's group. */
  get consumer(): string {
    return this.ctx.consumer;
  }

  enqueue(jobs: readonly NewJob[]): Promise<void> {
    return this.enqueuer.enqueue(jobs);
  }

  reserve(
    queue: string,
    max: number,
    signal: AbortSignal,
    options?: ReserveOptions,
  ): Promise<ReservedJob[]> {
    return this.reserver.reserve(queue, max, signal, options?.isGrouped === true);
  }

  groups(queue: string, offset: number, limit: number): Promise<QueueGroup[]> {
    return this.groupsOf.list(queue, offset, limit);
  }

  pauseGroup(queue: string, group: string): Promise<void> {
    return this.groupsOf.pause(queue, group, true);
  }

  resumeGroup(queue: string, group: string): Promise<void> {
    return this.groupsOf.pause(queue, group, false);
  }

  ack(job: ReservedJob): Promise<void> {
    return this.settler.ack(job);
  }

  retry(job: ReservedJob, delayMs: number, failure: JobFailure): Promise<void> {
    return this.settler.retry(job, delayMs, failure);
  }

  release(job: ReservedJob, delayMs: number): Promise<void> {
    return this.settler.release(job, delayMs);
  }

  deadLetter(job: ReservedJob, failure: JobFailure): Promise<void> {
    return this.settler.deadLetter(job, failure);
  }

  removeMatching(queue: string, listener: string, matches: PayloadMatch): Promise<RemovedJobs> {
    return this.removal.removeMatching(queue, listener, matches);
  }

  heartbeat(jobs: readonly ReservedJob[]): Promise<readonly ReservedJob[]> {
    return this.settler.heartbeat(jobs);
  }

  onReconnect(listener: () => void): () => void {
    this.ctx.reconnectListeners.add(listener);
    return () => this.ctx.reconnectListeners.delete(listener);
  }

  async counts(queue: string): Promise<QueueCounts> {
    const k = this.ctx.state(queue).keys;
    try {
      const [[waiting, delayed, active, completed, failed, dead], grouped] = await Promise.all([
        this.ctx.client.eventsCounts(k.stream, k.delayed, k.stats, k.dead, k.levels, GROUP_NAME),
        this.groupsOf.waiting(queue),
      ]);
      return { waiting: waiting + grouped, delayed, active, completed, failed, dead };
    } catch (error) {
      throw transportError(`counting queue "${queue}"`, error);
    }
  }

  async oldestWaitingAge(queue: string): Promise<number | undefined> {
    const k = this.ctx.state(queue).keys;
    try {
      const age = await this.ctx.client.eventsOldestWaiting(k.stream, k.levels, GROUP_NAME, k.base);
      return age < 0 ? undefined : age;
    } catch (error) {
      throw transportError(`reading the oldest waiting job of queue "${queue}"`, error);
    }
  }

  async history(queue: string, minutes: number): Promise<QueueMinute[]> {
    const k = this.ctx.state(queue).keys;
    try {
      const [now, ...slots] = await this.ctx.client.eventsHistory(k.stats, minutes);
      const first = Math.floor(now / 60_000) - minutes + 1;
      return lastMinutes(now, minutes, (minute) => {
        const [tag, completed, failed] = (slots[minute - first] ?? '').split(':').map(Number);
        return tag === minute ? [completed, failed] : [0, 0];
      });
    } catch (error) {
      throw transportError(`reading the history of queue "${queue}"`, error);
    }
  }

  async queues(): Promise<string[]> {
    try {
      return (await this.ctx.client.smembers(this.ctx.keys.queues)).sort();
    } catch (error) {
      throw transportError('listing queues', error);
    }
  }

  listDead(
    queue: string,
    offset: number,
    limit: number,
    after?: string,
    tag?: string,
  ): Promise<DeadJob[]> {
    return this.deadLetters.listDead(queue, offset, limit, after, tag);
  }

  retryDead(queue: string, id: string): Promise<number> {
    return this.deadLetters.retryDead(queue, id);
  }

  purgeDead(queue: string): Promise<number> {
    return this.deadLetters.purgeDead(queue);
  }

  forgetDead(queue: string, id: string): Promise<boolean> {
    return this.deadLetters.forgetDead(queue, id);
  }

  pruneDead(queue: string, olderThanMs: number): Promise<number> {
    return this.deadLetters.pruneDead(queue, olderThanMs);
  }

  obliterate(queue: string, force: boolean): Promise<number> {
    return this.admin.obliterate(queue, force);
  }

  listJobs(
    queue: string,
    state: LiveJobState,
    offset: number,
    limit: number,
  ): Promise<StoredQueuedJob[]> {
    return this.listing.listJobs(queue, state, offset, limit);
  }

  getJob(queue: string, id: string): Promise<StoredQueuedJob | DeadJob | undefined> {
    return this.listing.getJob(queue, id);
  }

  pause(queue: string): Promise<void> {
    return this.pauses.pause(queue);
  }

  resume(queue: string): Promise<void> {
    return this.pauses.resume(queue);
  }

  isPaused(queue: string): Promise<boolean> {
    return this.pauses.isPaused(queue);
  }

  watch(
    queue: string,
    signal: AbortSignal,
    onEntry: (entry: WatchedEntry) => void,
    options?: { readonly readIntervalMs?: number },
  ): Promise<QueueWatch> {
    return this.watcher.watch(queue, signal, onEntry, options?.readIntervalMs ?? 0);
  }

  async close(): Promise<void> {
    if (this.ctx.isClosed) return;
    this.ctx.isClosed = true;
    await Promise.all([...this.ctx.byName.values()].map((q) => this.settler.drainAcks(q)));
    await this.ctx.factory.closeAll();
  }

  /** Warns (once per server) about settings that lose jobs. Never throws. */
  checkServer(): Promise<void> {
    return checkRedisServer(this.ctx.client, this.ctx.factory.address, this.logger);
  }
}

/**
 * Connects to Redis (`options.redis`) and returns the Redis Streams transport.
 *
 * @throws TransportError when Redis cannot be reached at start-up.
 */
export async function createRedisQueueTransport(
  options: ResolvedEventsOptions,
): Promise<RedisQueueTransport> {
  if (options.redis === undefined)
    throw new TypeError('createRedisQueueTransport: no redis option');
  const factory = new RedisConnectionFactory(
    options.redis,
    `${options.prefix}:events`,
    options.redisCommandTimeout,
  );
  if (options.replication && factory.isCluster) {
    // WAIT goes to one node: on a cluster it cannot cover writes spread over several masters.
    throw new InvalidOptionError(
      'replication',
      options.replication,
      'a standalone Redis with replicas (on a Redis Cluster, leave it unset)',
    );
  }
  const client = defineScripts(await factory.create('command', 'commands'));
  const transport = new RedisQueueTransport(client, factory, options);
  void transport.checkServer();
  return transport;
}
