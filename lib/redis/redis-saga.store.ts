import type { Redis } from 'ioredis';
import { TransportError } from '../errors/transport.error.js';
import type { RedisConnectionFactory } from './redis-connection.factory.js';
import type { SagaRecord } from '../sagas/saga-definition.js';
import { matchesFilter, type SagaFilter, type SagaStore } from '../sagas/saga.store.js';
import type { NewJob } from '../queue/queue-job.js';
import { RedisKeys } from '../queue/redis/redis-keys.js';
import { defineScriptCall } from '../queue/redis/redis-script-call.js';
import {
  SAGA_ADVANCE_SCRIPT,
  SAGA_BEGIN_SCRIPT,
  SAGA_CREATE_SCRIPT,
  SAGA_UPDATE_SCRIPT,
} from './redis-saga-scripts.js';

interface SagaCommands {
  sagaCreate(
    record: string,
    all: string,
    active: string,
    id: string,
    json: string,
    at: number,
    version: number,
  ): Promise<number>;
  sagaUpdate(record: string, active: string, ...argv: (string | number)[]): Promise<number>;
  sagaAdvance(
    record: string,
    active: string,
    index: string,
    stream: string,
    seen: string,
    ...argv: (string | number)[]
  ): Promise<number>;
  sagaBegin(
    record: string,
    all: string,
    active: string,
    index: string,
    stream: string,
    seen: string,
    ...argv: (string | number)[]
  ): Promise<number>;
}

type Client = Redis & SagaCommands;

/** Records read per round trip by `list` and the sweeper. */
const PAGE = 200;

/**
 * Sagas in Redis, shared by every process on the same Redis and prefix. On a standalone Redis
 * (the transport's), a new saga and its first job, and a transition and its next job, are one
 * script call each (`createWithJob`, `updateWithJob`); on a Redis Cluster the saga keys and the
 * queue's keys are in different slots, so the two are written one after the other and the
 * sweeper stores a job lost in between. Its connection is auto-pipelined: the reads and writes
 * of many sagas at once (one per running job, one per awaited `execute`) go out as one write.
 */
export class RedisSagaStore implements SagaStore {
  readonly kind = 'redis';
  readonly updateWithJob:
    ((record: SagaRecord, expectedVersion: number, job: NewJob) => Promise<boolean>) | undefined;
  readonly createWithJob: ((record: SagaRecord, job: NewJob) => Promise<boolean>) | undefined;
  private client: Promise<Client> | undefined;
  /** The client once connected: the hot calls (a read and a write per step) skip an await. */
  private ready: Client | undefined;
  private readonly tag: string;
  private readonly allKey: string;
  private readonly activeKey: string;
  private readonly queueKeys: RedisKeys;
  /** Stream key by queue name (`RedisKeys.queue` builds every key of a queue). */
  private readonly streams = new Map<string, string>();
  /** Queues this process listed in the queue index with a job (the transport's rule: once). */
  private readonly listed = new Set<string>();

  /** @param dedupeWindowMs how long a stored job's id is remembered (the transport's option) */
  constructor(
    private readonly factory: RedisConnectionFactory,
    prefix: string,
    private readonly dedupeWindowMs: number,
  ) {
    this.tag = `{${prefix}:sagas}`;
    this.allKey = `${this.tag}:all`;
    this.activeKey = `${this.tag}:active`;
    this.queueKeys = new RedisKeys(prefix);
    this.updateWithJob = factory.isCluster
      ? undefined
      : (record, expectedVersion, job) => this.advance(record, expectedVersion, job);
    this.createWithJob = factory.isCluster ? undefined : (record, job) => this.begin(record, job);
  }

  async create(record: SagaRecord): Promise<boolean> {
    const c = await this.connection();
    const done = await this.call('create', () =>
      c.sagaCreate(
        this.key(record.id),
        this.allKey,
        this.activeKey,
        record.id,
        JSON.stringify(record),
        record.createdAt,
        record.version,
      ),
    );
    return done === 1;
  }

  get(id: string): Promise<SagaRecord | undefined> {
    const c = this.ready;
    if (c === undefined) return this.connection().then(() => this.get(id));
    return c
      .hget(this.key(id), 'j')
      .then(parseRecord, (error: unknown) => this.failed('get', error));
  }

  async areActive(ids: readonly string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const c = await this.connection();
    // The active set holds the sagas not finished, or whose ending event is not out (SagaStore.idle).
    const scores = await this.call('active', () => c.zmscore(this.activeKey, ...ids));
    return scores.map((score) => score !== null);
  }

  update(record: SagaRecord, expectedVersion: number): Promise<boolean> {
    const c = this.ready;
    if (c === undefined) return this.connection().then(() => this.update(record, expectedVersion));
    return c
      .sagaUpdate(
        this.key(record.id),
        this.activeKey,
        record.id,
        JSON.stringify(record),
        expectedVersion,
        record.version,
        record.updatedAt,
      )
      .then(isDone, (error: unknown) => this.failed('update', error));
  }

  /** `update`, plus storing `job` on its queue's stream, all or nothing (see SAGA_ADVANCE_SCRIPT). */
  private advance(record: SagaRecord, expectedVersion: number, job: NewJob): Promise<boolean> {
    const c = this.ready;
    if (c === undefined) {
      return this.connection().then(() => this.advance(record, expectedVersion, job));
    }
    // The job's id names the saga version: a transition retried after an error stores it once.
    return c
      .sagaAdvance(
        this.key(record.id),
        this.activeKey,
        this.queueKeys.queues,
        this.stream(job.queue),
        this.queueKeys.seen(job.queue, job.id),
        record.id,
        JSON.stringify(record),
        expectedVersion,
        record.version,
        record.updatedAt,
        ...this.jobArgs(job),
      )
      .then(
        (done) => this.stored(done, job.queue),
        (error: unknown) => this.failed(`update with job ${job.id}`, error),
      );
  }

  /** `create`, plus storing `job` on its queue's stream, all or nothing (see SAGA_BEGIN_SCRIPT). */
  private begin(record: SagaRecord, job: NewJob): Promise<boolean> {
    const c = this.ready;
    if (c === undefined) return this.connection().then(() => this.begin(record, job));
    return c
      .sagaBegin(
        this.key(record.id),
        this.allKey,
        this.activeKey,
        this.queueKeys.queues,
        this.stream(job.queue),
        this.queueKeys.seen(job.queue, job.id),
        record.id,
        JSON.stringify(record),
        record.createdAt,
        record.version,
        record.updatedAt,
        ...this.jobArgs(job),
      )
      .then(
        (done) => this.stored(done, job.queue),
        (error: unknown) => this.failed(`create with job ${job.id}`, error),
      );
  }

  async list(filter: SagaFilter): Promise<SagaRecord[]> {
    const found: SagaRecord[] = [];
    let skipped = 0;
    for (let start = 0; found.length < filter.limit; start += PAGE) {
      const c = await this.connection();
      const ids = await this.call('list', () =>
        c.zrange(this.allKey, String(start), String(start + PAGE - 1)),
      );
      if (ids.length === 0) break;
      for (const record of await this.many(ids)) {
        if (!matchesFilter(record, filter)) continue;
        if (skipped++ < filter.offset) continue;
        if (found.length >= filter.limit) break;
        found.push(record);
      }
    }
    return found;
  }

  async idle(before: number, limit: number): Promise<SagaRecord[]> {
    const c = await this.connection();
    const ids = await this.call('idle', () =>
      c.zrangebyscore(this.activeKey, '-inf', `(${before}`, 'LIMIT', '0', String(limit)),
    );
    return this.many(ids);
  }

  ended(id: string): Promise<void> {
    const c = this.ready;
    if (c === undefined) return this.connection().then(() => this.ended(id));
    return c
      .zrem(this.activeKey, id)
      .then(nothing, (error: unknown) => this.failed('ended', error));
  }

  async close(): Promise<void> {
    await this.factory.closeAll();
  }

  private async many(ids: string[]): Promise<SagaRecord[]> {
    if (ids.length === 0) return [];
    const c = await this.connection();
    const pipeline = c.pipeline();
    for (const id of ids) pipeline.hget(this.key(id), 'j');
    const replies = (await this.call('read', () => pipeline.exec())) ?? [];
    return replies.flatMap(([, json]) =>
      typeof json === 'string' ? [JSON.parse(json) as SagaRecord] : [],
    );
  }

  /** The job's arguments of the scripts that store one: queue, id, listener, payload, time, window, list. */
  private jobArgs(job: NewJob): (string | number)[] {
    const list = this.listed.has(job.queue) ? 0 : 1;
    return [job.queue, job.id, job.listener, job.payload, Date.now(), this.dedupeWindowMs, list];
  }

  /** Whether a script that stores a job wrote (1); a refused write (0) stopped before the job. */
  private stored(done: number, queue: string): boolean {
    if (done !== 1) return false;
    this.listed.add(queue);
    return true;
  }

  /** The stream of `queue` (cached: one job per step goes there). */
  private stream(queue: string): string {
    let stream = this.streams.get(queue);
    if (stream === undefined) {
      stream = this.queueKeys.queue(queue).stream;
      this.streams.set(queue, stream);
    }
    return stream;
  }

  private key(id: string): string {
    return `${this.tag}:r:${id}`;
  }

  private connection(): Promise<Client> {
    this.client ??= this.factory.create('command', 'sagas', { isAutoPipelined: true }).then(
      (client) => {
        // Plain EVAL/EVALSHA commands: ioredis's script commands keep garbage alive per call.
        defineScriptCall(client, 'sagaCreate', { numberOfKeys: 3, lua: SAGA_CREATE_SCRIPT });
        defineScriptCall(client, 'sagaUpdate', { numberOfKeys: 2, lua: SAGA_UPDATE_SCRIPT });
        defineScriptCall(client, 'sagaAdvance', { numberOfKeys: 5, lua: SAGA_ADVANCE_SCRIPT });
        defineScriptCall(client, 'sagaBegin', { numberOfKeys: 6, lua: SAGA_BEGIN_SCRIPT });
        this.ready = client as Client;
        return this.ready;
      },
      (error: unknown) => {
        this.client = undefined;
        throw error;
      },
    );
    return this.client;
  }

  private async call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (error) {
      return this.failed(what, error);
    }
  }

  private failed(what: string, error: unknown): never {
    throw new TransportError(
      `Saga store: ${what} failed on Redis ${this.factory.address}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function parseRecord(json: string | null): SagaRecord | undefined {
  return json === null ? undefined : (JSON.parse(json) as SagaRecord);
}

function nothing(): undefined {
  return undefined;
}

function isDone(reply: number): boolean {
  return reply === 1;
}
