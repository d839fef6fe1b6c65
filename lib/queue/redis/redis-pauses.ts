import { transportError } from './redis-errors.js';
import type { RedisBlockingReaders } from './redis-blocking-readers.js';
import type { QueueState, RedisQueueContext } from './redis-queue.context.js';

/**
 * How often (ms) a worker asks Redis whether a queue it reads is paused: one EXISTS per queue
 * per interval per process, never one per job. Also the latency of a pause made by another
 * process (plus a blocking read already in flight, at most `MAX_BLOCK_MS`).
 */
export const PAUSE_CHECK_MS = 500;

/**
 * Pausing queues: a key per queue, present while paused. The reserver asks `gate` before each
 * reclaim and read; a pause made in this process applies at once (its blocking read is cut short).
 */
export class RedisPauses {
  private readonly known = new Map<string, { isPaused: boolean; checkedAt: number }>();
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly ctx: RedisQueueContext,
    private readonly readers: RedisBlockingReaders,
  ) {}

  /**
   * Whether the queue is paused (as last checked, at most PAUSE_CHECK_MS ago). When it is, waits
   * up to PAUSE_CHECK_MS first (less on a resume here or an abort), so the caller loops slowly.
   */
  async gate(q: QueueState, signal: AbortSignal): Promise<boolean> {
    let state = this.known.get(q.name);
    if (!state || Date.now() - state.checkedAt >= PAUSE_CHECK_MS) {
      state = {
        isPaused: (await this.ctx.worker.exists(q.keys.paused)) === 1,
        checkedAt: Date.now(),
      };
      this.known.set(q.name, state);
    }
    if (!state.isPaused) return false;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, state.checkedAt + PAUSE_CHECK_MS - Date.now()));
      this.sleepers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
    return true;
  }

  /** Whether this process knows the queue is paused (no command). */
  isKnownPaused(q: QueueState): boolean {
    return this.known.get(q.name)?.isPaused === true;
  }

  async pause(queue: string): Promise<void> {
    const q = this.ctx.state(queue);
    try {
      await this.ctx.client.set(q.keys.paused, '1');
    } catch (error) {
      throw transportError(`pausing queue "${queue}"`, error);
    }
    this.known.set(queue, { isPaused: true, checkedAt: Date.now() });
    // This process's worker may be between its check and its read: let it start the read, then
    // cut every read in flight short, so nothing is taken here after pause() resolved.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 20 && q.blockUntil !== 0 && q.readerId !== 0; i++) {
      await this.readers.unblock(q);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async resume(queue: string): Promise<void> {
    const q = this.ctx.state(queue);
    try {
      await this.ctx.client.del(q.keys.paused);
    } catch (error) {
      throw transportError(`resuming queue "${queue}"`, error);
    }
    this.known.set(queue, { isPaused: false, checkedAt: Date.now() });
    for (const wake of [...this.sleepers]) wake();
  }

  async isPaused(queue: string): Promise<boolean> {
    try {
      return (await this.ctx.client.exists(this.ctx.state(queue).keys.paused)) === 1;
    } catch (error) {
      throw transportError(`reading whether queue "${queue}" is paused`, error);
    }
  }
}
