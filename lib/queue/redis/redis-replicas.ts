import type { ResolvedReplicationOptions } from '../../redis/redis-replication.options.js';
import type { Client } from './redis-queue.context.js';

/**
 * Waits for replicas after writes (`replication` option): one `WAIT` per tick and connection,
 * sent after every write issued on that connection so far (WAIT covers all of them), so a burst
 * of emits pays one round trip to the replicas, not one each.
 */
export class RedisReplicas {
  private pending: Promise<number> | undefined;

  constructor(
    private readonly client: () => Client,
    readonly options: ResolvedReplicationOptions,
  ) {}

  /**
   * Call right after issuing a write on the connection: resolves with how many replicas
   * acknowledged it (and every earlier write of the connection) within `timeoutMs`.
   */
  afterWrite(): Promise<number> {
    if (!this.pending) {
      this.pending = new Promise<number>((resolve, reject) => {
        // Next tick: writes issued later in this tick are covered by the same WAIT.
        process.nextTick(() => {
          this.pending = undefined;
          this.client()
            .wait(this.options.replicas, this.options.timeoutMs)
            .then((count) => resolve(Number(count)), reject);
        });
      });
      this.pending.catch(() => undefined);
    }
    return this.pending;
  }

  /**
   * Waits for `written` (a write just issued, so call this before awaiting anything) and then for
   * its replicas; throws `shortOf(count)` when fewer than `replicas` acknowledged within
   * `timeoutMs`. A refused write rejects with its own error.
   */
  async after(written: Promise<unknown>, shortOf: (count: number) => Error): Promise<void> {
    const acknowledged = this.afterWrite();
    await written;
    const count = await acknowledged;
    if (count < this.options.replicas) throw shortOf(count);
  }
}
