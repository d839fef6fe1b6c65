import type { Redis } from 'ioredis';
import { TransportError } from '../errors/transport.error.js';
import type { RedisConnectionFactory } from './redis-connection.factory.js';
import { FINISHED, type SagaRecord } from '../sagas/saga-definition.js';
import { matchesFilter, type SagaFilter, type SagaStore } from '../sagas/saga.store.js';

/*
 * Layout: every key shares the hash tag `{<prefix>:sagas}` (the scripts run on Redis Cluster).
 * - `…:r:<id>`   hash: `v` (version), `j` (the record as JSON)
 * - `…:all`      sorted set of every saga id by creation time (`list`)
 * - `…:active`   sorted set of the sagas not finished, by last write (the sweeper)
 */

/** KEYS: record, all, active. ARGV: id, json, createdAt. Returns 1 stored, 0 the id exists. */
const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', '0', 'j', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
`;

/**
 * KEYS: record, active. ARGV: id, json, expected version, new version, updatedAt, finished (1/0).
 * Returns 1 written, 0 the stored version differs (or the saga is gone).
 */
const UPDATE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'j', ARGV[2])
if ARGV[6] == '1' then redis.call('ZREM', KEYS[2], ARGV[1])
else redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1]) end
return 1
`;

interface SagaCommands {
  sagaCreate(
    record: string,
    all: string,
    active: string,
    id: string,
    json: string,
    at: number,
  ): Promise<number>;
  sagaUpdate(
    record: string,
    active: string,
    id: string,
    json: string,
    expected: number,
    version: number,
    at: number,
    finished: number,
  ): Promise<number>;
}

type Client = Redis & SagaCommands;

/** Records read per round trip by `list` and the sweeper. */
const PAGE = 200;

/** Sagas in Redis, shared by every process on the same Redis and prefix. */
export class RedisSagaStore implements SagaStore {
  readonly kind = 'redis';
  private client: Promise<Client> | undefined;
  private readonly tag: string;

  constructor(
    private readonly factory: RedisConnectionFactory,
    prefix: string,
  ) {
    this.tag = `{${prefix}:sagas}`;
  }

  async create(record: SagaRecord): Promise<boolean> {
    const c = await this.connection();
    const done = await this.call('create', () =>
      c.sagaCreate(
        this.key(record.id),
        `${this.tag}:all`,
        `${this.tag}:active`,
        record.id,
        JSON.stringify(record),
        record.createdAt,
      ),
    );
    return done === 1;
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    const c = await this.connection();
    const json = await this.call('get', () => c.hget(this.key(id), 'j'));
    return json === null ? undefined : (JSON.parse(json) as SagaRecord);
  }

  async update(record: SagaRecord, expectedVersion: number): Promise<boolean> {
    const c = await this.connection();
    const done = await this.call('update', () =>
      c.sagaUpdate(
        this.key(record.id),
        `${this.tag}:active`,
        record.id,
        JSON.stringify(record),
        expectedVersion,
        record.version,
        record.updatedAt,
        FINISHED.includes(record.status) ? 1 : 0,
      ),
    );
    return done === 1;
  }

  async list(filter: SagaFilter): Promise<SagaRecord[]> {
    const found: SagaRecord[] = [];
    let skipped = 0;
    for (let start = 0; found.length < filter.limit; start += PAGE) {
      const c = await this.connection();
      const ids = await this.call('list', () =>
        c.zrange(`${this.tag}:all`, String(start), String(start + PAGE - 1)),
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
      c.zrangebyscore(`${this.tag}:active`, '-inf', `(${before}`, 'LIMIT', '0', String(limit)),
    );
    return this.many(ids);
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

  private key(id: string): string {
    return `${this.tag}:r:${id}`;
  }

  private connection(): Promise<Client> {
    this.client ??= this.factory.create('command', 'sagas').then(
      (client) => {
        client.defineCommand('sagaCreate', { numberOfKeys: 3, lua: CREATE_SCRIPT });
        client.defineCommand('sagaUpdate', { numberOfKeys: 2, lua: UPDATE_SCRIPT });
        return client as Client;
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
      throw new TransportError(
        `Saga store: ${what} failed on Redis ${this.factory.address}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}
