import { randomUUID } from 'node:crypto';
import type { OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { TransportError } from '../errors/transport.error.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { CoordinationStore, LeaseResult } from '../middleware/coordination.store.js';
import { defineScriptCall } from '../queue/redis/redis-script-call.js';
import { RedisConnectionFactory } from './redis-connection.factory.js';

/*
 * Scripts of the coordination store. Each touches one key (the list claim: two keys that its
 * caller puts in one hash slot), so they run on Redis Cluster as they are. Time comes from the Redis server (TIME), so workers with skewed clocks share one window.
 */

/**
 * Sliding-window rate limit.
 * KEYS: 1 sorted set of hits (member: a unique id, score: ms).
 * ARGV: 1 limit, 2 window ms, 3 a unique member id for this hit.
 * Returns: 0 when the hit was recorded, else the ms until the oldest hit leaves the window.
 */
const HIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

/**
 * Takes (or extends) a key for a token.
 * KEYS: 1 the key.
 * ARGV: 1 token, 2 ttl ms.
 * Returns: {1} when held by the token now; {0, current value, remaining ms (0: no expiry)}.
 */
const ACQUIRE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
return {0, current, math.max(0, redis.call('PTTL', KEYS[1]))}
`;

/**
 * Extends a key's ttl if it holds the token.
 * KEYS: 1 the key. ARGV: 1 token, 2 ttl ms.
 * Returns: 1 extended, 0 not held.
 */
const EXTEND_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/**
 * Deletes a key if it holds the token.
 * KEYS: 1 the key. ARGV: 1 token.
 * Returns: 1 deleted, 0 not held.
 */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/**
 * Claims a list: the claim's list when it exists, else the list moved to the claim.
 * KEYS: 1 the list, 2 the claim (same hash slot). ARGV: 1 the claim's ttl ms.
 * Returns: the claimed values.
 */
const CLAIM_LIST_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.call('LRANGE', KEYS[2], 0, -1)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return redis.call('LRANGE', KEYS[2], 0, -1)
`;

interface CoordinationCommands {
  coordHit(key: string, limit: number, windowMs: number, member: string): Promise<number>;
  coordAcquire(key: string, token: string, ttlMs: number): Promise<[number, string?, number?]>;
  coordExtend(key: string, token: string, ttlMs: number): Promise<number>;
  coordRelease(key: string, token: string): Promise<number>;
  coordClaimList(key: string, claim: string, ttlMs: number): Promise<string[]>;
}

type Client = Redis & CoordinationCommands;

/**
 * The `CoordinationStore` of apps with `redis`: shared by every worker on the same Redis and
 * prefix. Its connection (from `RedisConnectionFactory`) opens on first use, so apps whose
 * middleware never coordinates hold no extra connection; it closes at application shutdown.
 */
export class RedisCoordinationStore implements CoordinationStore, OnApplicationShutdown {
  readonly kind = 'redis';
  private client: Promise<Client> | undefined;
  private isClosed = false;

  constructor(
    private readonly factory: RedisConnectionFactory,
    private readonly prefix: string,
  ) {}

  async hit(key: string, limit: number, windowMs: number): Promise<number> {
    const client = await this.connection();
    return this.call('rate limit', key, () =>
      client.coordHit(this.key(key), limit, windowMs, randomUUID()),
    );
  }

  async acquire(key: string, token: string, ttlMs: number): Promise<LeaseResult> {
    const client = await this.connection();
    const [isAcquired, holder, remainingMs] = await this.call('acquire', key, () =>
      client.coordAcquire(this.key(key), token, ttlMs),
    );
    return isAcquired === 1
      ? { isAcquired: true, remainingMs: 0 }
      : { isAcquired: false, holder, remainingMs: Number(remainingMs ?? 0) };
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    const client = await this.connection();
    return (
      (await this.call('extend', key, () => client.coordExtend(this.key(key), token, ttlMs))) === 1
    );
  }

  async release(key: string, token: string): Promise<void> {
    const client = await this.connection();
    await this.call('release', key, () => client.coordRelease(this.key(key), token));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const client = await this.connection();
    await this.call('set', key, () => client.set(this.key(key), value, 'PX', ttlMs));
  }

  async get(key: string): Promise<string | undefined> {
    const client = await this.connection();
    return (await this.call('get', key, () => client.get(this.key(key)))) ?? undefined;
  }

  async append(key: string, value: string, ttlMs: number): Promise<void> {
    const client = await this.connection();
    const results = await this.call('append', key, () =>
      client.multi().rpush(this.key(key), value).pexpire(this.key(key), ttlMs).exec(),
    );
    const failed = results?.find(([error]) => error !== null)?.[0];
    if (failed) {
      throw new TransportError(
        `Coordination store: append of "${key}" failed on Redis ${this.factory.address}: ${failed.message}`,
        { cause: failed },
      );
    }
  }

  async claimList(key: string, claim: string, ttlMs: number): Promise<string[]> {
    const client = await this.connection();
    return this.call('claim', key, () =>
      client.coordClaimList(this.key(key), this.key(claim), ttlMs),
    );
  }

  async delete(key: string): Promise<void> {
    const client = await this.connection();
    await this.call('delete', key, () => client.del(this.key(key)));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.factory.closeAll();
  }

  private key(key: string): string {
    return `${this.prefix}:mw:${key}`;
  }

  private connection(): Promise<Client> {
    if (this.isClosed) {
      return Promise.reject(new TransportError('The coordination store is closed (app shut down)'));
    }
    this.client ??= this.factory.create('command', 'coordination').then(
      (client) => {
        // Plain EVAL/EVALSHA commands: ioredis's script commands keep garbage alive per call.
        defineScriptCall(client, 'coordHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
        defineScriptCall(client, 'coordAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
        defineScriptCall(client, 'coordExtend', { numberOfKeys: 1, lua: EXTEND_SCRIPT });
        defineScriptCall(client, 'coordRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
        defineScriptCall(client, 'coordClaimList', { numberOfKeys: 2, lua: CLAIM_LIST_SCRIPT });
        return client as Client;
      },
      (error: unknown) => {
        // Not cached: the next call tries to connect again.
        this.client = undefined;
        throw error;
      },
    );
    return this.client;
  }

  private async call<R>(what: string, key: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (error) {
      throw new TransportError(
        `Coordination store: ${what} of "${key}" failed on Redis ${this.factory.address}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}

/** The Redis coordination store of these options (connects lazily). */
export function createRedisCoordinationStore(
  options: ResolvedEventsOptions,
): RedisCoordinationStore {
  if (options.redis === undefined) {
    throw new TypeError('createRedisCoordinationStore: no redis option');
  }
  const factory = new RedisConnectionFactory(
    options.redis,
    `${options.prefix}:events`,
    options.redisCommandTimeout,
  );
  return new RedisCoordinationStore(factory, options.prefix);
}
