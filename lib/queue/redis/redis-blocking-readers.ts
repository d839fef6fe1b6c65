import type { Redis } from 'ioredis';
import { isClusterClient } from '../../redis/redis-connection.factory.js';
import { Logger } from '@nestjs/common';
import { MAX_BLOCK_MS, type QueueState, type RedisQueueContext } from './redis-queue.context.js';

/**
 * The blocking-read connections, one per queue (`XREADGROUP BLOCK` holds its connection), and
 * the way to end a block early (`CLIENT UNBLOCK` by the reader's client id).
 */
export class RedisBlockingReaders {
  private readonly logger = new Logger(RedisBlockingReaders.name);
  private isIdRefused = false;

  constructor(private readonly ctx: RedisQueueContext) {}

  /** The queue's reader, connected once; a reader that fails to start is closed, never leaked. */
  reader(q: QueueState): Promise<Redis> {
    if (!q.reader) {
      q.reader = (async () => {
        const { client: reader, node } = await this.ctx.factory.createReader(
          `reader:${q.name}`,
          q.keys.stream,
          this.ctx.worker,
        );
        try {
          q.readerNode = node;
          reader.on('ready', () => void this.refreshId(q, reader).catch(() => undefined));
          await this.refreshId(q, reader);
          return reader;
        } catch (error) {
          q.readerNode = undefined;
          q.readerId = 0;
          void this.ctx.factory.close(reader);
          throw error;
        }
      })();
      q.reader.catch(() => {
        q.reader = undefined;
      });
    }
    return q.reader;
  }

  /**
   * Learns the reader's client id (what `CLIENT UNBLOCK` needs). Without it (an ACL user denied
   * `CLIENT ID`), reads still work: a blocked read then ends by itself within `MAX_BLOCK_MS`.
   */
  private async refreshId(q: QueueState, reader: Redis): Promise<void> {
    try {
      q.readerId = Number(await reader.call('CLIENT', 'ID'));
    } catch (error) {
      q.readerId = 0;
      if (!/NOPERM/.test((error as Error).message)) throw error;
      if (!this.isIdRefused) {
        this.isIdRefused = true;
        this.logger.warn(
          `Redis refused CLIENT ID (${(error as Error).message}): reads are not cut short on shutdown or when a job of this process comes due; they end within ${MAX_BLOCK_MS} ms`,
        );
      }
    }
  }

  drop(q: QueueState, reader: Redis): void {
    q.reader = undefined;
    q.readerNode = undefined;
    q.readerId = 0;
    void this.ctx.factory.close(reader);
  }

  /**
   * Ends the reader's blocking read now. The read may not have reached Redis yet (it travels on
   * another connection), so this repeats a few times while the read is still running.
   */
  async unblock(q: QueueState): Promise<void> {
    const client = this.ctx.client;
    for (let i = 0; i < 10 && q.blockUntil !== 0 && q.readerId !== 0; i++) {
      // On a cluster, client ids are per node: unblock through the reader's node.
      const via = isClusterClient(client)
        ? client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === q.readerNode)
        : client;
      if (!via) return;
      try {
        if ((await via.call('CLIENT', 'UNBLOCK', q.readerId)) === 1) return;
      } catch {
        return; // The read ends by itself within MAX_BLOCK_MS.
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
