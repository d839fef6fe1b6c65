import type { Logger } from '@nestjs/common';
import type { Notification, PoolClient } from 'pg';
import type { PostgresConnection } from './postgres-connection.js';

/**
 * LISTENs for the event store's append notifications on a dedicated connection while
 * subscriptions exist, and calls `onAppend` for each; the subscriptions' polling covers the gaps
 * (before it listens, and while it reconnects after a failure).
 */
export class PostgresListener {
  private listener: PoolClient | undefined;
  private listening: Promise<void> | undefined;
  private isWatched = false;

  constructor(
    private readonly connection: PostgresConnection,
    private readonly channel: string,
    private readonly pollIntervalMs: number,
    private readonly logger: Logger,
    private readonly onAppend: () => void,
  ) {}

  /** Listens while subscriptions watch the store, and stops when the last one stops. */
  watching(isWatched: boolean): void {
    this.isWatched = isWatched;
    if (isWatched) this.listen();
    else this.unlisten();
  }

  /** Releases the LISTEN connection (the store is closing). */
  unlisten(): void {
    const client = this.listener;
    if (client) this.dropListener(client, undefined);
  }

  private listen(): void {
    if (this.listening || this.connection.isClosed) return;
    const started = (async () => {
      const pool = await this.connection.connect();
      const client = await pool.connect();
      if (!this.isWatched || this.connection.isClosed) {
        client.release();
        return;
      }
      this.listener = client;
      client.on('notification', (message: Notification) => {
        if (message.channel === this.channel) this.onAppend();
      });
      client.on('error', (error: Error) => {
        this.logger.warn(
          `Event store LISTEN connection failed (polling meanwhile): ${error.message}`,
        );
        this.dropListener(client, error);
      });
      await client.query(`LISTEN "${this.channel}"`);
    })();
    this.listening = started.catch((error: unknown) => {
      this.logger.warn(
        `Event store cannot LISTEN (subscriptions poll every ${this.pollIntervalMs} ms): ${String(error)}`,
      );
      this.listening = undefined;
    });
  }

  private dropListener(client: PoolClient, error: Error | undefined): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.listening = undefined;
    client.removeAllListeners('notification');
    // A connection that was LISTENing is destroyed rather than handed to the next pool user.
    client.release(error ?? true);
    if (this.isWatched && !this.connection.isClosed && error) {
      setTimeout(() => this.isWatched && this.listen(), this.pollIntervalMs).unref();
    }
  }
}
