import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { TransportError } from '../errors/transport.error.js';

/** What `forRoot({ redis })` accepts: a URL, ioredis options, or an ioredis client. */
export type RedisSource = string | Record<string, unknown>;

/** How a connection is used; decides its failure behaviour. */
export type RedisConnectionRole = 'command' | 'blocking';

function isClient(value: unknown): value is Redis {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Redis).duplicate === 'function' &&
    typeof (value as Redis).sendCommand === 'function'
  );
}

/** Exponential backoff capped at 5 s, with ±50% jitter so that workers do not reconnect in step. */
export function reconnectDelay(times: number): number {
  const base = Math.min(5000, 50 * 2 ** Math.min(times, 7));
  return Math.round(base * (0.5 + Math.random()));
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
  private readonly clients = new Set<Redis>();
  private readonly template: Redis | undefined;

  constructor(
    private readonly source: RedisSource,
    private readonly name: string,
    private readonly commandTimeoutMs: number,
  ) {
    if (isClient(source)) {
      if ((source as { isCluster?: boolean }).isCluster) {
        throw new InvalidOptionError(
          'redis',
          'a Cluster client',
          'a standalone ioredis client, URL or options',
        );
      }
      this.template = source;
    }
  }

  /** Host and port, for messages (never the password). */
  get address(): string {
    const options = this.options();
    if (options.path) return String(options.path);
    return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
  }

  /**
   * A new connected client. `command` clients time out commands after `commandTimeoutMs`;
   * `blocking` clients (one per blocking reader) have no command timeout (their reads block for
   * at most a second).
   *
   * @throws TransportError when the first connection attempt fails.
   */
  async create(role: RedisConnectionRole, label: string): Promise<Redis> {
    const overrides: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: `${this.name}:${label}`.replace(/\s/g, '_'),
      retryStrategy: this.options().retryStrategy ?? reconnectDelay,
      connectTimeout: Math.max(this.commandTimeoutMs, 1000),
      ...(role === 'command'
        ? // Commands issued in one tick go out in one write (many emits, acks and reads at once).
          { commandTimeout: this.commandTimeoutMs, enableAutoPipelining: true }
        : // No client-side deadline on blocking reads: under a busy event loop it can fire before
          // a reply that carries entries is read, and those entries would sit pending until
          // reclaimed. Reads block at most a second; TCP keep-alive catches dead sockets.
          { commandTimeout: undefined, blockingTimeout: 0 }),
    };
    const client = this.template
      ? this.template.duplicate(overrides)
      : typeof this.source === 'string'
        ? new Redis(this.source, overrides)
        : new Redis({ ...(this.source as RedisOptions), ...overrides });
    this.watch(client, label);
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

  /** Closes one client made here (QUIT when connected, else disconnect). */
  async close(client: Redis): Promise<void> {
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

  private options(): RedisOptions {
    if (this.template) return this.template.options;
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

  /** Logs a lost connection once per outage (not once per reconnect attempt) and its recovery. */
  private watch(client: Redis, label: string): void {
    let isDown = false;
    client.on('error', (error: Error) => {
      if (isDown) return;
      isDown = true;
      this.logger.warn(`Redis ${this.address} (${label}): ${error.message}; reconnecting`);
    });
    client.on('ready', () => {
      if (!isDown) return;
      isDown = false;
      this.logger.log(`Redis ${this.address} (${label}): reconnected`);
    });
  }
}

const checkedServers = new Set<string>();

function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1].trim();
}

/**
 * Warns, once per server and process, about settings under which Redis loses jobs: an eviction
 * policy other than `noeviction`, and no persistence (neither AOF nor RDB snapshots). Never throws.
 */
export async function checkRedisServer(
  client: Redis,
  address: string,
  logger: Logger,
): Promise<void> {
  if (checkedServers.has(address)) return;
  checkedServers.add(address);
  try {
    const [memory, persistence] = await Promise.all([
      client.info('memory'),
      client.info('persistence'),
    ]);
    const policy = infoField(memory, 'maxmemory_policy');
    if (policy && policy !== 'noeviction') {
      logger.warn(
        `Redis ${address} has maxmemory-policy "${policy}": under memory pressure it evicts keys, jobs included. Set it to "noeviction".`,
      );
    }
    const isAof = infoField(persistence, 'aof_enabled') === '1';
    const save = await client.config('GET', 'save').then(
      (reply) => (reply as string[])[1] ?? '',
      () => 'unknown',
    );
    if (!isAof && save === '') {
      logger.warn(
        `Redis ${address} has persistence off (no AOF, no RDB snapshots): a Redis restart loses every stored job. Turn on appendonly for durable queues.`,
      );
    }
  } catch {
    // A check, not a requirement: a Redis that refuses INFO still carries jobs.
  }
}
