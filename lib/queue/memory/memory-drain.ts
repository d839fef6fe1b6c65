import type { MemoryQueue } from './memory-queue.types.js';

/** Waits, at shutdown, for the embedded transport's consumed queues to have no ready work. */
export class MemoryDrain {
  /** Called on every settled attempt while `until` waits. */
  private readonly waiters = new Set<() => void>();

  /**
   * Waits until the queues that a worker of this process reads have no job waiting or running
   * (jobs that running ones add included), or `timeoutMs` passed. Resolves to whether everything
   * ready was done.
   */
  async until(queues: () => Iterable<MemoryQueue>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (hasReadyWork(queues())) {
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, leftMs);
        this.waiters.add(done);
      });
    }
    return true;
  }

  /** An attempt ended (acked, retried, released, dead), or the transport closed: look again. */
  settled(): void {
    for (const done of [...this.waiters]) done();
  }
}

function hasReadyWork(queues: Iterable<MemoryQueue>): boolean {
  for (const q of queues) {
    const waiting = q.waiting.length + q.groups.waiting;
    if (q.isConsumed && (waiting > 0 || q.active.size > 0)) return true;
  }
  return false;
}
