import { Logger } from '@nestjs/common';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { TransportError } from '../errors/transport.error.js';
import type { RedisClient } from './redis-client.js';
import { RedisOutages } from './redis-outages.js';

/**
 * What `forRoot({ redis })` accepts: a URL, ioredis options, an ioredis client, Redis Cluster
 * options (`{ cluster: [nodes], ...ClusterOptions }`) or an ioredis `Cluster` instance.
 */
export type RedisSource = string | Record<string, unknown>;

/** How a connection is used; decides its failure behaviour. */
export type RedisConnectionRole = 'command' | 'blocking';

export type { RedisClient } from './redis-client.js';

/** A blocking reader: always one connection to the one server (or cluster node) that owns its key. */
export interface RedisReader {
  readonly client: Redis;
  /** `host:port` of the cluster node read from; undefined on a standalone Redis. */
  readonly node: string | undefined;
}

function isClient(value: unknown): value is RedisClient {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Redis).duplicate === 'function' &&
    typeof (value as Redis).sendCommand === 'function'
  );
}

/** Whether a client talks to a Redis Cluster. */
export function isClusterClient(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

function clusterNodes(source: Record<string, unknown>): ClusterNode[] {
  const nodes = source.cluster;
  const isNode = (n: unknown): boolean =>
    (typeof n === 'string' && n.length > 0) ||
    (typeof n === 'number' && Number.isInteger(n)) ||
    (n !== null && typeof n === 'object' && !Array.isArray(n));
  if (!Array.isArray(nodes) || nodes.length === 0 || !nodes.every(isNode)) {
    throw new InvalidOptionError(
      'redis.cluster',
      nodes,
      'a non-empty array of startup nodes ("host:port", a port, or { host, port })',
    );
  }
  return nodes as ClusterNode[];
}

/** Longest wait between two reconnect attempts (ms): a restarted Redis is found within it. */
export const MAX_RECONNECT_DELAY_MS = 400;

/**
 * Exponential backoff from 25 ms capped at `MAX_RECONNECT_DELAY_MS`, with jitter (50-100% of the
 * step) so that workers do not reconnect in step. Kept short: a reconnect attempt costs one
 * refused TCP connection, and work resumes within it once Redis is back.
 */
export function reconnectDelay(times: number): number {
  const base = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(times, 7));
  return Math.round(base * (0.5 + Math.random() / 2));
}

/**
 * The only place that creates ioredis clients. Every client it makes is its own (a user's
 * client is used as a template through `duplicate()`, never closed by us) and is closed by
 * `closeAll()`.
 *
 * Failure behaviour: nothing waits in an offline queue. A command issued while the connection is
 * down fails at once, one in flight when it drops fails at the first reconnect attempt, and one
 * that gets no reply fails after `commandTimeoutMs`; a caller always hears of a failure.
 */
export class RedisConnectionFactory {
  private readonly logger = new Logger('RedisConnection');
  private readonly clients = new Set<RedisClient>();
  private readonly outages: RedisOutages;
  private readonly template: RedisClient | undefined;
  private readonly nodes: ClusterNode[] | undefined;

  constructor(
    private readonly source: RedisSource,
    private readonly name: string,
    private readonly commandTimeoutMs: number,
  ) {
    if (isClient(source)) this.template = source;
    else if (typeof source === 'object' && 'cluster' in source) this.nodes = clusterNodes(source);
    this.outages = new RedisOutages(this.logger, this.address);
  }

  /** Whether the connections made here go to a Redis Cluster. */
  get isCluster(): boolean {
    return this.nodes !== undefined || (!!this.template && isClusterClient(this.template));
  }

  /** Host and port (every startup node on a cluster), for messages (never the password). */
  get address(): string {
    if (this.isCluster) {
      const nodes = this.template
        ? (this.template as unknown as { startupNodes?: ClusterNode[] }).startupNodes
        : this.nodes;
      return `cluster ${(nodes ?? [])
        .map((n) => (typeof n === 'object' ? `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}` : n))
        .join(',')}`;
    }
    const options = this.options();
    if (options.path) return String(options.path);
    return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
  }

  /**
   * A new connected client. `command` clients time out commands after `commandTimeoutMs`;
   * `blocking` clients (one per blocking reader) have no command timeout (their reads block for
   * at most a second). `isAutoPipelined` sends the commands of one event-loop turn as one write
   * (a Cluster client always does): for callers that issue many small independent commands at once.
   *
   * @throws TransportError when the first connection attempt fails.
   */
  async create(role: 'blocking', label: string): Promise<Redis>;
  async create(
    role: 'command',
    label: string,
    options?: { isAutoPipelined?: boolean },
  ): Promise<RedisClient>;
  async create(
    role: RedisConnectionRole,
    label: string,
    options: { isAutoPipelined?: boolean } = {},
  ): Promise<RedisClient> {
    if (this.isCluster && role === 'command') return this.connect(this.newCluster(label), label);
    const client = this.newRedis(role, label, undefined, options.isAutoPipelined === true);
    return this.connect(client, label);
  }

  /**
   * A blocking reader of `key`. On a standalone Redis, a new connection; on a cluster, a
   * connection to the master that owns the key's slot now (found through `via`, a cluster
   * command client). A blocking read cannot go through the cluster client: it would hold the
   * shared connection to that node. When the slot moves, the read fails with MOVED and the
   * caller makes a new reader.
   */
  async createReader(label: string, key: string, via: RedisClient): Promise<RedisReader> {
    if (!isClusterClient(via))
      return { client: await this.create('blocking', label), node: undefined };
    const slot = Number(await via.call('CLUSTER', 'KEYSLOT', key));
    let node = via.slots[slot]?.[0];
    if (node === undefined) {
      await new Promise<void>((resolve) => via.refreshSlotsCache(() => resolve()));
      node = via.slots[slot]?.[0];
    }
    if (node === undefined) {
      throw new TransportError(
        `Redis Cluster ${this.address}: no node serves slot ${slot} (${key})`,
      );
    }
    const colon = node.lastIndexOf(':');
    const target = { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
    return { client: await this.connect(this.newRedis('blocking', label, target), label), node };
  }

  private newCluster(label: string): Cluster {
    const redisOptions: RedisOptions = {
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: this.connectionName(label),
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: Math.max(this.commandTimeoutMs, 1000),
    };
    const overrides: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      redisOptions,
    };
    if (this.template) return (this.template as Cluster).duplicate(undefined, overrides);
    const { cluster: _nodes, ...options } = this.source as ClusterOptions & { cluster?: unknown };
    return new Cluster(this.nodes ?? [], {
      clusterRetryStrategy: reconnectDelay,
      ...options,
      ...overrides,
      redisOptions: { ...options.redisOptions, ...redisOptions },
    });
  }

  private connectionName(label: string): string {
    return `${this.name}:${label}`.replace(/\s/g, '_');
  }

  private newRedis(
    role: RedisConnectionRole,
    label: string,
    node: { host: string; port: number } | undefined,
    isAutoPipelined = false,
  ): Redis {
    const overrides: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: this.connectionName(label),
      retryStrategy: this.options().retryStrategy ?? reconnectDelay,
      connectTimeout: Math.max(this.commandTimeoutMs, 1000),
      ...(role === 'command'
        ? // No auto-pipelining by default: the hot paths batch themselves (one script call per
          // tick for the emits of a queue, acks in batches), and ioredis builds a Pipeline per
          // tick that copies every defined script onto itself: ~3x the allocations of the command
          // it carries, and under steady load the young generation fills with them (longer
          // scavenges, longer tails). A client with few scripts and many independent callers
          // (the saga store) asks for it.
          { commandTimeout: this.commandTimeoutMs, enableAutoPipelining: isAutoPipelined }
        : // No client-side deadline on blocking reads: under a busy event loop it can fire before
          // a reply that carries entries is read, and those entries would sit pending until
          // reclaimed. Reads block at most a second; TCP keep-alive catches dead sockets.
          { commandTimeout: undefined, blockingTimeout: 0 }),
    };
    if (node) return new Redis({ ...this.options(), ...node, ...overrides });
    return this.template
      ? (this.template as Redis).duplicate(overrides)
      : typeof this.source === 'string'
        ? new Redis(this.source, overrides)
        : new Redis({ ...(this.source as RedisOptions), ...overrides });
  }

  private async connect<C extends RedisClient>(client: C, label: string): Promise<C> {
    this.outages.watch(client, label);
    this.clients.add(client);
    try {
      await client.connect();
    } catch (error) {
      this.clients.delete(client);
      client.disconnect();
      throw new TransportError(
        `Could not connect to Redis at ${this.address} (${label}): ${(error as Error).message}`,
        { cause: error },
      );
    }
    return client;
  }

  /**
   * Why a client cannot reach Redis now, for error messages: `Redis unreachable at host:port
   * since <ISO time>` (when its connection went down), or undefined while it is connected.
   */
  unreachable(client: RedisClient): string | undefined {
    return this.outages.unreachable(client);
  }

  /** Closes one client made here (QUIT when connected, else disconnect). */
  async close(client: RedisClient): Promise<void> {
    if (!this.clients.delete(client)) return;
    try {
      if (client.status === 'ready') await client.quit();
      else client.disconnect();
    } catch {
      client.disconnect();
    }
  }

  /** Closes every client made here. The user's own client is left open. Idempotent. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.clients].map((client) => this.close(client)));
  }

  /** Connection options of one server: on a cluster, the per-node `redisOptions`. */
  private options(): RedisOptions {
    if (this.isCluster) {
      const cluster = (this.template?.options ?? this.source) as ClusterOptions;
      return { ...cluster.redisOptions } as RedisOptions;
    }
    if (this.template) return (this.template as Redis).options;
    if (typeof this.source === 'string') {
      try {
        const url = new URL(this.source);
        return { host: url.hostname, port: Number(url.port || 6379) };
      } catch {
        return {};
      }
    }
    return this.source as RedisOptions;
  }
}
