import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { StaleJobError, TransportError } from '../../errors/transport.error.js';
import type { ResolvedEventsOptions } from '../../events.options.js';
import {
  checkRedisServer,
  isClusterClient,
  RedisConnectionFactory,
  type RedisClient,
} from '../../redis/redis-connection.factory.js';
import type { DeadJob, JobFailure, NewJob, QueueCounts, ReservedJob } from '../queue-job.js';
import type { QueueTransport } from '../queue-transport.interface.js';
import {
  assertSettled,
  isBusyGroupError,
  isNoGroupError,
  STALE,
  transportError,
} from './redis-errors.js';
import { CONSUMER_GROUP as GROUP, RedisKeys, type QueueKeys } from './redis-keys.js';
import { defineScripts, type ScriptCommands } from './redis-scripts.js';

/** Longest blocking read: also the longest a delayed job enqueued by another process waits. */
const MAX_BLOCK_MS = 1000;
/** Delayed jobs moved per script call. */
const PROMOTE_BATCH = 1000;
/** Single-job emits per script call. */
const ADD_BATCH = 500;
/** Acknowledgements per script call. */
const ACK_BATCH = 500;
/** Longest a read waits for a reconnecting client before it fails (and the worker backs off). */
const RECONNECT_WAIT_MS = 5000;
/** Consumers idle this long with nothing pending are removed from the group. */
const CONSUMER_TTL_MS = 60 * 60 * 1000;

interface PendingAck {
  readonly job: ReservedJob;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface PendingAdds {
  readonly stream: string;
  readonly args: (string | number)[];
  readonly waiters: { job: NewJob; resolve: () => void; reject: (error: unknown) => void }[];
}

interface QueueState {
  readonly name: string;
  readonly keys: QueueKeys;
  reader: Promise<Redis> | undefined;
  /** On a cluster, `host:port` of the node the reader is connected to. */
  readerNode: string | undefined;
  readerId: number;
  hasGroup: boolean;
  isGroupLost: boolean;
  /** When to run the promote script next (ms). */
  promoteAt: number;
  /** When to look for jobs to reclaim next (ms). */
  reclaimAt: number;
  cursor: string;
  cleanedAt: number;
  /** End of the current blocking read, 0 when not reading. */
  blockUntil: number;
  readonly acks: PendingAck[];
  isFlushing: boolean;
}

type Client = RedisClient & ScriptCommands;

function parseReceipt(job: ReservedJob): [string, string] {
  const slash = job.receipt.lastIndexOf('/');
  if (slash < 0) throw new StaleJobError(job.id);
  return [job.receipt.slice(0, slash), job.receipt.slice(slash + 1)];
}

/** Orders stream entry ids (`ms-seq`, decimal, no leading zeros) without parsing them. */
function compareEntryIds(a: string, b: string): number {
  if (a === b) return 0;
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  if (dashA !== dashB) return dashA - dashB;
  const ms = a.slice(0, dashA);
  const other = b.slice(0, dashB);
  if (ms !== other) return ms < other ? -1 : 1;
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : 1;
}

/** Reads a stream entry into a job; unknown or missing fields never throw (poison goes on). */
function toJob(queue: string, entry: string, deliveries: number, fields: string[]): ReservedJob {
  let id = entry;
  let listener = '';
  let payload = '';
  let prior = 0;
  let enqueuedAt = 0;
  for (let i = 0; i + 1 < (fields?.length ?? 0); i += 2) {
    const value = fields[i + 1];
    switch (fields[i]) {
      case 'id':
        id = value;
        break;
      case 'l':
        listener = value;
        break;
      case 'p':
        payload = value;
        break;
      case 'a':
        prior = Number(value) || 0;
        break;
      case 't':
        enqueuedAt = Number(value) || 0;
        break;
    }
  }
  return {
    id,
    queue,
    listener,
    payload,
    attempt: prior + deliveries,
    enqueuedAt,
    receipt: `${entry}/${deliveries}`,
  };
}

function toDeadJob(queue: string, entry: string, fields: string[]): DeadJob {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
  return {
    id: f.get('id') || entry,
    queue,
    listener: f.get('l') ?? '',
    payload: f.get('p') ?? '',
    attempts: Number(f.get('a')) || 0,
    reason: f.get('r') ?? '',
    error: f.get('e') ?? '',
    stack: f.get('s') || undefined,
    enqueuedAt: Number(f.get('t')) || 0,
    failedAt: Number(f.get('f')) || 0,
  };
}

/**
 * The durable transport: one Redis stream per queue read through one consumer group (this
 * process is one consumer), a sorted set for delayed jobs and retries, a dead-letter stream.
 * A job is deleted from its stream once acknowledged, so memory follows the backlog.
 */
export class RedisQueueTransport implements QueueTransport {
  readonly kind = 'redis';
  readonly isDurable = true;
  /** This process's consumer name in every queue's group. */
  readonly consumer = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(RedisQueueTransport.name);
  private readonly keys: RedisKeys;
  private readonly byName = new Map<string, QueueState>();
  private readonly knownQueues = new Set<string>();
  /** Single-job emits waiting for this tick's script call, by stream. */
  private readonly adds = new Map<string, PendingAdds>();
  private isAddScheduled = false;
  private isClosed = false;
  /**
   * The connection of this process's worker side (reads' bookkeeping, acks, retries): apart from
   * the producer's, so that acknowledgements never queue behind a burst of emits.
   */
  private workerClient: Client | undefined;
  private workerConnecting: Promise<Client> | undefined;

  constructor(
    private readonly client: Client,
    private readonly factory: RedisConnectionFactory,
    private readonly options: ResolvedEventsOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
  }

  async enqueue(jobs: readonly NewJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const now = Date.now();
    const [only] = jobs;
    if (jobs.length === 1 && only.delayMs <= 0 && this.knownQueues.has(only.queue)) {
      // The hot path: the single-job emits of this tick go to Redis in one script call per queue.
      return new Promise<void>((resolve, reject) => {
        const stream = this.state(only.queue).keys.stream;
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
    if (isClusterClient(this.client)) return this.enqueueOnCluster(jobs, now);
    // One emit, one round trip; MULTI when several jobs, so they are stored all or none.
    const batch = jobs.length > 1 ? this.client.multi() : this.client.pipeline();
    for (const job of jobs) {
      const keys = this.state(job.queue).keys;
      if (!this.knownQueues.has(job.queue)) batch.sadd(this.keys.queues, job.queue);
      if (job.delayMs > 0) {
        const member = { id: job.id, l: job.listener, p: job.payload, a: '0', t: String(now) };
        batch.zadd(keys.delayed, now + job.delayMs, JSON.stringify(member));
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
    for (const job of jobs) {
      this.knownQueues.add(job.queue);
      if (job.delayMs > 0) this.noteDue(this.state(job.queue), now + job.delayMs);
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
      codes = await this.client.eventsAdd(batch.stream, ...batch.args);
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
    const byQueue = new Map<string, NewJob[]>();
    for (const job of jobs) byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
    const unknown = [...byQueue.keys()].filter((q) => !this.knownQueues.has(q));
    try {
      if (unknown.length > 0) await this.client.sadd(this.keys.queues, ...unknown);
      await Promise.all(
        [...byQueue].map(async ([queue, group]) => {
          const keys = this.state(queue).keys;
          const batch = this.client.multi();
          for (const job of group) {
            if (job.delayMs > 0) {
              const member = {
                id: job.id,
                l: job.listener,
                p: job.payload,
                a: '0',
                t: String(now),
              };
              batch.zadd(keys.delayed, now + job.delayMs, JSON.stringify(member));
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
    for (const job of jobs) {
      this.knownQueues.add(job.queue);
      if (job.delayMs > 0) this.noteDue(this.state(job.queue), now + job.delayMs);
    }
  }

  async reserve(queue: string, max: number, signal: AbortSignal): Promise<ReservedJob[]> {
    const q = this.state(queue);
    while (!signal.aborted && !this.isClosed) {
      try {
        await this.whenReady(await this.connectWorker(), signal);
        if (!q.hasGroup) await this.createGroup(q);
        let now = Date.now();
        if (now >= q.promoteAt) await this.promote(q, now);
        if (now >= q.reclaimAt) {
          const reclaimed = await this.reclaim(q, max, now);
          if (reclaimed.length > 0) return reclaimed;
        }
        now = Date.now();
        const blockMs = Math.max(1, Math.min(MAX_BLOCK_MS, q.promoteAt - now, q.reclaimAt - now));
        const jobs = await this.read(q, max, blockMs, signal);
        if (jobs.length > 0) return jobs;
      } catch (error) {
        if (this.isClosed || signal.aborted) return [];
        if (!isNoGroupError(error)) throw transportError(`reading queue "${queue}"`, error);
        // Redis lost the group (restart without data): recreate it and go on, warning once.
        q.hasGroup = false;
        if (!q.isGroupLost) {
          q.isGroupLost = true;
          this.logger.warn(
            `Queue "${queue}": consumer group missing (Redis lost data?); recreating it`,
          );
        }
      }
    }
    return [];
  }

  ack(job: ReservedJob): Promise<void> {
    const q = this.state(job.queue);
    return new Promise<void>((resolve, reject) => {
      q.acks.push({ job, resolve, reject });
      if (!q.isFlushing) void this.flushAcks(q);
    });
  }

  async retry(job: ReservedJob, delayMs: number, _failure: JobFailure): Promise<void> {
    await this.requeue(job, delayMs, job.attempt, true);
  }

  async release(job: ReservedJob, delayMs: number): Promise<void> {
    await this.requeue(job, delayMs, job.attempt - 1, false);
  }

  async deadLetter(job: ReservedJob, failure: JobFailure): Promise<void> {
    const q = this.state(job.queue);
    const [entry, deliveries] = parseReceipt(job);
    const isFailure = failure.reason !== 'malformed' && failure.reason !== 'unknown-listener';
    let code: number;
    try {
      code = await this.worker.eventsDeadLetter(
        q.keys.stream,
        q.keys.dead,
        q.keys.stats,
        GROUP,
        this.consumer,
        entry,
        deliveries,
        job.attempt,
        failure.reason,
        failure.message,
        failure.stack ?? '',
        Date.now(),
        isFailure ? '1' : '0',
      );
    } catch (error) {
      throw transportError(`dead-lettering job ${job.id}`, error);
    }
    assertSettled(code, job.id);
  }

  async heartbeat(jobs: readonly ReservedJob[]): Promise<readonly ReservedJob[]> {
    const byQueue = new Map<string, string[]>();
    for (const job of jobs) {
      const pairs = byQueue.get(job.queue) ?? [];
      pairs.push(...parseReceipt(job));
      byQueue.set(job.queue, pairs);
    }
    try {
      await Promise.all(
        [...byQueue].map(([queue, pairs]) =>
          this.worker.eventsHeartbeat(
            this.state(queue).keys.stream,
            GROUP,
            this.consumer,
            ...pairs,
          ),
        ),
      );
    } catch (error) {
      throw transportError('extending running jobs', error);
    }
    return [];
  }

  async counts(queue: string): Promise<QueueCounts> {
    const k = this.state(queue).keys;
    try {
      const [waiting, delayed, active, completed, failed, dead] = await this.client.eventsCounts(
        k.stream,
        k.delayed,
        k.stats,
        k.dead,
        GROUP,
      );
      return { waiting, delayed, active, completed, failed, dead };
    } catch (error) {
      throw transportError(`counting queue "${queue}"`, error);
    }
  }

  async queues(): Promise<string[]> {
    try {
      return (await this.client.smembers(this.keys.queues)).sort();
    } catch (error) {
      throw transportError('listing queues', error);
    }
  }

  async listDead(queue: string, offset: number, limit: number): Promise<DeadJob[]> {
    try {
      const entries = (await this.client.xrange(
        this.state(queue).keys.dead,
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
    const k = this.state(queue).keys;
    try {
      if (id === 'all') {
        let moved = 0;
        let left = await this.client.xlen(k.dead);
        while (left > 0) {
          const n = await this.client.eventsRetryDead(k.dead, k.stream, Date.now(), 'first', 500);
          if (n === 0) break;
          moved += n;
          left -= n;
        }
        return moved;
      }
      const entries = await this.findDead(k, id);
      if (entries.length === 0) return 0;
      return await this.client.eventsRetryDead(k.dead, k.stream, Date.now(), ...entries);
    } catch (error) {
      throw transportError(`retrying dead jobs of "${queue}"`, error);
    }
  }

  async purgeDead(queue: string): Promise<number> {
    try {
      return await this.client.eventsPurgeDead(this.state(queue).keys.dead);
    } catch (error) {
      throw transportError(`purging dead jobs of "${queue}"`, error);
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await Promise.all([...this.byName.values()].map((q) => this.drainAcks(q)));
    await this.factory.closeAll();
  }

  /** Warns (once per server) about settings that lose jobs. Never throws. */
  checkServer(): Promise<void> {
    return checkRedisServer(this.client, this.factory.address, this.logger);
  }

  private state(name: string): QueueState {
    let q = this.byName.get(name);
    if (!q) {
      q = {
        name,
        keys: this.keys.queue(name),
        reader: undefined,
        readerNode: undefined,
        readerId: 0,
        hasGroup: false,
        isGroupLost: false,
        promoteAt: 0,
        reclaimAt: 0,
        cursor: '0-0',
        cleanedAt: Date.now(),
        blockUntil: 0,
        acks: [],
        isFlushing: false,
      };
      this.byName.set(name, q);
    }
    return q;
  }

  private async createGroup(q: QueueState): Promise<void> {
    try {
      // From the stream's start: entries stored before any worker existed are read too.
      await this.worker.xgroup('CREATE', q.keys.stream, GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!isBusyGroupError(error)) throw error;
    }
    await this.client.sadd(this.keys.queues, q.name);
    this.knownQueues.add(q.name);
    q.hasGroup = true;
    q.isGroupLost = false;
  }

  private async promote(q: QueueState, now: number): Promise<void> {
    const [moved, next] = await this.worker.eventsPromote(
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

  private async reclaim(q: QueueState, max: number, now: number): Promise<ReservedJob[]> {
    const visibility = this.options.visibilityTimeout;
    const [cursor, entries] = await this.worker.eventsReclaim(
      q.keys.stream,
      GROUP,
      this.consumer,
      visibility,
      q.cursor,
      max,
    );
    q.cursor = cursor;
    if (cursor === '0-0') {
      // A full pass over the pending entries is done: the next one after half a timeout.
      q.reclaimAt = now + Math.max(50, Math.floor(visibility / 2));
      if (now - q.cleanedAt > CONSUMER_TTL_MS / 4) {
        q.cleanedAt = now;
        await this.worker.eventsCleanupConsumers(
          q.keys.stream,
          GROUP,
          this.consumer,
          Math.max(CONSUMER_TTL_MS, visibility * 10),
        );
      }
    }
    if (entries.length > 0) {
      this.logger.warn(
        `Queue "${q.name}": reclaimed ${entries.length} job(s) pending over ${visibility} ms (a worker died or froze)`,
      );
    }
    return entries.map(([entry, deliveries, fields]) =>
      toJob(q.name, entry, Number(deliveries), fields),
    );
  }

  private async read(
    q: QueueState,
    max: number,
    blockMs: number,
    signal: AbortSignal,
  ): Promise<ReservedJob[]> {
    const reader = await this.reader(q);
    await this.whenReady(reader, signal);
    if (signal.aborted) return [];
    if (q.readerNode !== undefined && reader.status !== 'ready') {
      // A cluster node that stays down was replaced by a failover: find the slot's owner again.
      this.dropReader(q, reader);
      throw new TransportError(`Redis Cluster node ${q.readerNode} is not reachable`);
    }
    // A blocked XREADGROUP cannot be cancelled client-side: unblock it from the command
    // connection so that shutdown does not wait for the block to end.
    const onAbort = (): void => void this.unblock(q);
    signal.addEventListener('abort', onAbort, { once: true });
    q.blockUntil = Date.now() + blockMs;
    try {
      const reply = (await reader.xreadgroup(
        'GROUP',
        GROUP,
        this.consumer,
        'COUNT',
        max,
        'BLOCK',
        blockMs,
        'STREAMS',
        q.keys.stream,
        '>',
      )) as [string, [string, string[]][]][] | null;
      if (!reply?.[0]) return [];
      return reply[0][1].map(([entry, fields]) => toJob(q.name, entry, 1, fields));
    } catch (error) {
      // The slot moved to another node (resharding, failover): read from its new owner next.
      if (q.readerNode !== undefined && /^(MOVED|ASK|CLUSTERDOWN)/.test((error as Error).message)) {
        this.dropReader(q, reader);
      }
      throw error;
    } finally {
      q.blockUntil = 0;
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** The worker connection once `reserve` made it (settling needs a reserved job), else the main one. */
  private get worker(): Client {
    return this.workerClient ?? this.client;
  }

  private connectWorker(): Promise<Client> {
    if (!this.workerConnecting) {
      this.workerConnecting = this.factory.create('command', 'worker').then((client) => {
        this.workerClient = defineScripts(client);
        return this.workerClient;
      });
      this.workerConnecting.catch(() => {
        this.workerConnecting = undefined;
      });
    }
    return this.workerConnecting;
  }

  /**
   * Waits (a bounded time) for a reconnecting client, so that a worker resumes as soon as Redis
   * is back instead of failing every read and backing off further.
   */
  private async whenReady(client: RedisClient, signal: AbortSignal): Promise<void> {
    if (client.status === 'ready' || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, RECONNECT_WAIT_MS);
      client.on('ready', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private dropReader(q: QueueState, reader: Redis): void {
    q.reader = undefined;
    q.readerNode = undefined;
    q.readerId = 0;
    void this.factory.close(reader);
  }

  private reader(q: QueueState): Promise<Redis> {
    if (!q.reader) {
      q.reader = (async () => {
        const { client: reader, node } = await this.factory.createReader(
          `reader:${q.name}`,
          q.keys.stream,
          this.worker,
        );
        q.readerNode = node;
        const refreshId = async (): Promise<void> => {
          q.readerId = Number(await reader.call('CLIENT', 'ID'));
        };
        reader.on('ready', () => void refreshId().catch(() => undefined));
        await refreshId();
        return reader;
      })();
      q.reader.catch(() => {
        q.reader = undefined;
      });
    }
    return q.reader;
  }

  /**
   * Ends the reader's blocking read now. The read may not have reached Redis yet (it travels on
   * another connection), so this repeats a few times while the read is still running.
   */
  private async unblock(q: QueueState): Promise<void> {
    for (let i = 0; i < 10 && q.blockUntil !== 0 && q.readerId !== 0; i++) {
      // On a cluster, client ids are per node: unblock through the reader's node.
      const via = isClusterClient(this.client)
        ? this.client
            .nodes('master')
            .find((n) => `${n.options.host}:${n.options.port}` === q.readerNode)
        : this.client;
      if (!via) return;
      try {
        if ((await via.call('CLIENT', 'UNBLOCK', q.readerId)) === 1) return;
      } catch {
        return; // The read ends by itself within MAX_BLOCK_MS.
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** A job of this process became due earlier than the reader will look: wake it. */
  private noteDue(q: QueueState, dueAt: number): void {
    if (dueAt >= q.promoteAt) return;
    q.promoteAt = dueAt;
    if (q.blockUntil > dueAt) void this.unblock(q);
  }

  private async requeue(
    job: ReservedJob,
    delayMs: number,
    attemptsMade: number,
    isFailure: boolean,
  ): Promise<void> {
    const q = this.state(job.queue);
    const [entry, deliveries] = parseReceipt(job);
    const dueAt = delayMs > 0 ? Date.now() + delayMs : 0;
    let code: number;
    try {
      code = await this.worker.eventsRequeue(
        q.keys.stream,
        q.keys.delayed,
        q.keys.stats,
        GROUP,
        this.consumer,
        entry,
        deliveries,
        dueAt,
        attemptsMade,
        isFailure ? '1' : '0',
      );
    } catch (error) {
      throw transportError(`requeueing job ${job.id}`, error);
    }
    assertSettled(code, job.id);
    if (dueAt > 0) this.noteDue(q, dueAt);
  }

  /** Sends acknowledgements in batches: what piles up while one batch is in flight goes next. */
  private async flushAcks(q: QueueState): Promise<void> {
    q.isFlushing = true;
    try {
      while (q.acks.length > 0) {
        const batch = q.acks.splice(0, ACK_BATCH);
        const args: string[] = [];
        try {
          let low = '';
          let high = '';
          for (const { job } of batch) {
            const [entry, deliveries] = parseReceipt(job);
            args.push(entry, deliveries);
            if (low === '' || compareEntryIds(entry, low) < 0) low = entry;
            if (high === '' || compareEntryIds(entry, high) > 0) high = entry;
          }
          const codes = await this.worker.eventsAck(
            q.keys.stream,
            q.keys.stats,
            GROUP,
            this.consumer,
            low,
            high,
            ...args,
          );
          batch.forEach((a, i) =>
            codes[i] === STALE ? a.reject(new StaleJobError(a.job.id)) : a.resolve(),
          );
        } catch (error) {
          const failure = transportError(`acknowledging ${batch.length} job(s)`, error);
          for (const a of batch) a.reject(failure);
        }
      }
    } finally {
      q.isFlushing = false;
    }
  }

  private async drainAcks(q: QueueState): Promise<void> {
    while (q.isFlushing || q.acks.length > 0) {
      if (!q.isFlushing) await this.flushAcks(q);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private async findDead(k: QueueKeys, id: string): Promise<string[]> {
    const found: string[] = [];
    let start = '-';
    for (;;) {
      const page = (await this.client.xrange(k.dead, start, '+', 'COUNT', 500)) as [
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
  const client = defineScripts(await factory.create('command', 'commands'));
  const transport = new RedisQueueTransport(client, factory, options);
  void transport.checkServer();
  return transport;
}
