import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { ResolvedEventsOptions } from '../../events.options.js';
import type { RedisClient, RedisConnectionFactory } from '../../redis/redis-connection.factory.js';
import type { ReservedJob } from '../queue-job.js';
import { isBusyGroupError } from './redis-errors.js';
import { CONSUMER_GROUP as GROUP, RedisKeys, type QueueKeys } from './redis-keys.js';
import { defineScripts, type ScriptCommands } from './redis-scripts.js';

/** Longest blocking read: also the longest a delayed job enqueued by another process waits. */
export const MAX_BLOCK_MS = 1000;
/** Longest a read waits for a reconnecting client before it fails (and the worker backs off). */
const RECONNECT_WAIT_MS = 5000;

/**
 * After a sign of an outage, reclaims wait this many `visibilityTimeout`s. One would do if every
 * worker were back and heartbeating the moment this one is; but each reconnects on its own
 * backoff, and a recovery is a burst of work on every process (reconnects, scripts loaded again,
 * retries) that can hold a live worker's first heartbeats back: a second timeout keeps its jobs
 * from running twice. A worker that died during the outage is reclaimed one timeout later.
 */
export const OUTAGE_GRACE_TIMEOUTS = 2;

/** A client with the transport's scripts defined. */
export type Client = RedisClient & ScriptCommands;

/** An acknowledgement waiting for its batch. */
export interface PendingAck {
  readonly job: ReservedJob;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** What this process knows and does about one queue. */
export interface QueueState {
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
  /** Jobs wait in priority levels: reads go through the take script (redis-priority-reader). */
  isPrioritized: boolean;
  readonly acks: PendingAck[];
  isFlushing: boolean;
}

/**
 * The state the roles of the Redis transport share: connections, queue states, this process's
 * consumer name. Holds no queue logic itself.
 */
export class RedisQueueContext {
  /** This process's consumer name in every queue's group. */
  readonly consumer = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly keys: RedisKeys;
  readonly byName = new Map<string, QueueState>();
  /** Queues this process knows are listed in the queue index. */
  readonly knownQueues = new Set<string>();
  isClosed = false;
  /**
   * No reclaim before this time (local ms): Redis was away or stalled, so entries look idle
   * because nobody could heartbeat, not because their worker died. Pushed back by
   * `OUTAGE_GRACE_TIMEOUTS` visibility timeouts on each sign of an outage.
   */
  reclaimHoldUntil = 0;
  /**
   * Entries this process's worker holds (reserved, heartbeated, not yet settled), with when it
   * last said so (local ms). Its own entries that go quiet for `visibilityTimeout` were dropped
   * by the worker and may be reclaimed; the others it is running, however idle Redis sees them.
   */
  private readonly held = new Map<string, number>();
  /** Called on each reconnect of the worker connection (see `QueueTransport.onReconnect`). */
  readonly reconnectListeners = new Set<() => void>();
  /** Redis's clock minus `performance.now()`, as best known (see `noteRedisTime`). */
  private redisOffsetMs: number | undefined;
  /**
   * The connection of this process's worker side (reads' bookkeeping, acks, retries): apart from
   * the producer's, so that acknowledgements never queue behind a burst of emits.
   */
  private workerClient: Client | undefined;
  private workerConnecting: Promise<Client> | undefined;

  constructor(
    readonly client: Client,
    readonly factory: RedisConnectionFactory,
    readonly options: ResolvedEventsOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
  }

  /** The worker connection once `reserve` made it (settling needs a reserved job), else the main one. */
  get worker(): Client {
    return this.workerClient ?? this.client;
  }

  connectWorker(): Promise<Client> {
    if (!this.workerConnecting) {
      this.workerConnecting = this.factory.create('command', 'worker').then((client) => {
        // Listened to once connected: every 'ready' from now on follows a dropped connection.
        client.on('ready', () => {
          this.noteOutage();
          for (const listener of this.reconnectListeners) listener();
        });
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
   * Redis was away or stalled (a reconnect, a failed or late command): hold reclaims for
   * `OUTAGE_GRACE_TIMEOUTS` visibility timeouts, so that every worker heartbeats what it holds
   * first, also one that reconnects after this one or is slowed by the recovery itself.
   */
  noteOutage(): void {
    this.reclaimHoldUntil = Math.max(
      this.reclaimHoldUntil,
      Date.now() + OUTAGE_GRACE_TIMEOUTS * this.options.visibilityTimeout,
    );
  }

  /** The worker holds this entry (just reserved, or heartbeated), as of `now`. */
  noteHeld(entry: string, now = Date.now()): void {
    this.held.set(entry, now);
  }

  /** The worker no longer holds this entry (settled, or taken by another consumer). */
  noteReleased(entry: string): void {
    this.held.delete(entry);
  }

  /** Whether the worker said it holds this entry within the last `visibilityTimeout`. */
  isHeld(entry: string): boolean {
    const seen = this.held.get(entry);
    return seen !== undefined && Date.now() - seen < this.options.visibilityTimeout;
  }

  /** Forgets entries the worker stopped mentioning long ago (they were reclaimed elsewhere). */
  pruneHeld(): void {
    const before = Date.now() - 2 * this.options.visibilityTimeout;
    for (const [entry, seen] of this.held) if (seen < before) this.held.delete(entry);
  }

  /**
   * Learns Redis's clock from a script's reply. A reply can only arrive after Redis read its
   * clock, so each sample is at most the true offset: the largest one is the best estimate.
   * `isReset` takes the sample as is (after a deadline refusal: Redis's clock may have stepped back).
   */
  noteRedisTime(redisMs: number, isReset = false): void {
    const sample = redisMs - performance.now();
    if (isReset || this.redisOffsetMs === undefined || sample > this.redisOffsetMs)
      this.redisOffsetMs = sample;
  }

  /** Redis's clock now plus `withinMs` (ms), or 0 while Redis's clock is unknown. */
  redisDeadline(withinMs: number): number {
    if (this.redisOffsetMs === undefined) return 0;
    return Math.ceil(performance.now() + this.redisOffsetMs + withinMs);
  }

  state(name: string): QueueState {
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
        isPrioritized: false,
        acks: [],
        isFlushing: false,
      };
      this.byName.set(name, q);
    }
    return q;
  }

  async createGroup(q: QueueState): Promise<void> {
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

  /**
   * Waits (a bounded time) for a reconnecting client, so that a worker resumes as soon as Redis
   * is back instead of failing every read and backing off further.
   */
  async whenReady(client: RedisClient, signal: AbortSignal): Promise<void> {
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
}
