import type { Logger } from '@nestjs/common';
import type { RedisClient } from './redis-client.js';

/**
 * The outages of the clients of one connection factory: each logged once (not once per
 * reconnect attempt) with its recovery, and when each client went down, for error messages.
 */
export class RedisOutages {
  /** When each client's connection went down (local ms), while it is down. */
  private readonly downSince = new WeakMap<RedisClient, number>();

  /** @param address `host:port` of the factory's Redis, for messages (never the password) */
  constructor(
    private readonly logger: Logger,
    private readonly address: string,
  ) {}

  /**
   * Logs a lost connection once per outage and its recovery, and remembers when it went down
   * (see `unreachable`).
   */
  watch(client: RedisClient, label: string): void {
    let isDown = false;
    const down = (): void => {
      if (!this.downSince.has(client)) this.downSince.set(client, Date.now());
    };
    client.on('close', down);
    client.on('error', (error: Error) => {
      down();
      if (isDown) return;
      isDown = true;
      this.logger.warn(`Redis ${this.address} (${label}): ${error.message}; reconnecting`);
    });
    client.on('ready', () => {
      this.downSince.delete(client);
      if (!isDown) return;
      isDown = false;
      this.logger.log(`Redis ${this.address} (${label}): reconnected`);
    });
  }

  /**
   * Why a client cannot reach Redis now, for error messages: `Redis unreachable at host:port
   * since <ISO time>` (when its connection went down), or undefined while it is connected.
   */
  unreachable(client: RedisClient): string | undefined {
    // 'ready' lags behind a socket that has already ended ("Stream isn't writeable").
    const socket = (client as { stream?: { writable?: boolean } }).stream;
    if (client.status === 'ready' && socket?.writable !== false) return undefined;
    let since = this.downSince.get(client);
    if (since === undefined) {
      // Noticed here first (the socket ended before ioredis emitted 'close'): down from now.
      since = Date.now();
      this.downSince.set(client, since);
    }
    const state = client.status === 'end' ? ' (connection closed)' : '';
    return `Redis unreachable at ${this.address} since ${new Date(since).toISOString()}${state}`;
  }
}
