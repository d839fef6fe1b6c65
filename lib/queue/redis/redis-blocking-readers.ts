import type { Redis } from 'ioredis';
import { isClusterClient } from '../../redis/redis-connection.factory.js';
import type { QueueState, RedisQueueContext } from './redis-queue.context.js';

/**
 * The blocking-read connections, one per queue (`XREADGROUP BLOCK` holds its connection), and
 * the way to end a block early (`CLIENT UNBLOCK` by the reader's client id).
 */
export class RedisBlockingReaders {
  constructor(private readonly ctx: RedisQueueContext) {}

  /** The queue's reader, connected once. */
  reader(q: QueueState): Promise<Redis> {
    if (!q.reader) {
      q.reader = (async () => {
        const { client: reader, node } = await this.ctx.factory.createReader(
          `reader:${q.name}`,
          q.keys.stream,
          this.ctx.worker,
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
