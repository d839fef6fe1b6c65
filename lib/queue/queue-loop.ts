import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { abortableSleep, retryDelay } from './abortable-sleep.js';
import type { InFlight } from './in-flight.js';
import type { JobRunner } from './job-runner.js';
import type { JobSettler } from './job-settler.js';
import type { ReservedJob } from './queue-job.js';
import type { QueueTransport } from './queue-transport.interface.js';
import type { BatchCollector } from './flow/batch-collector.js';

/** Handler times measured before a queue reads ahead. */
const READ_AHEAD_AFTER = 16;
/**
 * Most jobs a queue reads ahead of its free slots. A read costs a round trip and, on a grouped
 * or prioritized queue, a take script with a fixed part: with no-op handlers, reads of up to 400
 * kept the worker busy while the next read was in flight (100 left it idle about a third of the
 * time on a grouped queue; `bench/groups.bench.js`).
 */
const READ_AHEAD_MAX = 400;
/** How long (ms) a job read ahead should wait for a slot, on average. */
const READ_AHEAD_WAIT_MS = 2;
/** Acknowledgements in flight (over all queues) past which the worker takes no new jobs. */
const MAX_ACKS_IN_FLIGHT = 5000;

/**
 * Jobs to reserve past the free slots, so that the next job starts without a read round trip:
 * only as many as the slots get through in about `READ_AHEAD_WAIT_MS` (none for slow handlers,
 * whose jobs had better stay in the queue for other workers).
 */
function readAhead(limit: number, averageMs: number): number {
  return Math.min(
    READ_AHEAD_MAX,
    Math.floor((READ_AHEAD_WAIT_MS * limit) / Math.max(averageMs, 0.001)),
  );
}

/**
 * Works one queue: starts reserved jobs in free slots and keeps the next read in flight while
 * handlers run. Fast handlers get jobs read ahead of their free slots (see `readAhead`).
 */
export class QueueLoop {
  private readonly logger = new Logger(QueueLoop.name);

  constructor(
    private readonly queue: string,
    private readonly limit: number,
    private readonly transport: QueueTransport,
    private readonly runner: JobRunner,
    private readonly settler: JobSettler,
    private readonly inFlight: InFlight,
    /** Longest a job waits in read-ahead for a slot before it goes back to the queue (ms). */
    private readonly maxAheadMs: number,
    /**
     * A queue with groups: jobs are taken in fair order by the group take. Jobs read ahead keep
     * that order (they start in the order taken) and hold their group's slot while they wait.
     */
    private readonly isGrouped = false,
    /**
     * A queue with batched listeners: jobs go to the batches, which run at most the queue's
     * concurrency of handler calls (then `limit` is the jobs held: concurrency x batch size).
     */
    private readonly batches?: BatchCollector,
    /**
     * A queue with a group rate limit: no read-ahead, so that a job starts when it is taken (the
     * take counts its start in the group's window).
     */
    private readonly isRateLimited = false,
  ) {}

  /** Runs until `signal` fires, then puts the jobs read ahead back. */
  async run(signal: AbortSignal): Promise<void> {
    const { queue, limit } = this;
    const mine = new Set<Promise<void>>();
    // Wakes the loop (one waiter: this loop) on a freed slot, a finished read, or shutdown.
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    signal.addEventListener('abort', notify, { once: true });
    // Jobs reserved ahead of a free slot, in stored order, with when they were read (ms).
    const ahead: ReservedJob[] = [];
    const readAt: number[] = [];
    // Set when jobs waited too long for a slot and went back: no reading ahead until one frees.
    let isAheadStale = false;
    let expiry: NodeJS.Timeout | undefined;
    const puttingBack = new Set<Promise<unknown>>();
    // Handler time, a moving average (ms), and how many attempts it is made of.
    let averageMs = 0;
    let samples = 0;
    const took = (startedAt: number): void => {
      isAheadStale = false;
      const tookMs = performance.now() - startedAt;
      averageMs = samples === 0 ? tookMs : averageMs + (tookMs - averageMs) / 8;
      samples++;
    };
    const start = (job: ReservedJob): void => {
      const startedAt = performance.now();
      const started = this.batches ? this.batches.add(job) : this.runner.processNow(job);
      // Over when it returned (a sync handler): its slot is free again, no promise to wait for.
      if (started === undefined) return took(startedAt);
      const ended = (): void => {
        mine.delete(done);
        took(startedAt);
        notify();
      };
      // `process` never rejects; one reaction rather than `finally` (which costs two more promises).
      const done: Promise<void> = started.then(ended, ended);
      mine.add(done);
    };
    let failures = 0;
    let fetching: Promise<void> | undefined;
    const fetch = async (max: number): Promise<void> => {
      try {
        const jobs = this.isGrouped
          ? await this.transport.reserve(queue, max, signal, { isGrouped: true })
          : await this.transport.reserve(queue, max, signal);
        failures = 0;
        const now = performance.now();
        for (const job of jobs) {
          ahead.push(job);
          readAt.push(now);
          this.inFlight.ahead.add(job);
        }
      } catch (error) {
        // Loops never throw: report, back off with jitter, and try again.
        failures++;
        const waitMs = retryDelay(failures, 100, 5000);
        if (failures === 1 || failures % 20 === 0) {
          this.logger.error(
            `Queue "${queue}": reserving jobs failed (${failures}x), retrying: ${String(error)}`,
          );
        }
        // Removes its abort listener when it ends: a long outage must not pile them up.
        await abortableSleep(waitMs, signal);
      } finally {
        fetching = undefined;
        notify();
      }
    };
    const fetchIfLow = (): void => {
      const extra =
        samples < READ_AHEAD_AFTER || isAheadStale || this.isRateLimited || this.batches
          ? 0
          : readAhead(limit, averageMs);
      const wanted = limit - mine.size + extra - ahead.length;
      // Read again when the jobs at hand run low: before they run out when reading ahead.
      if (wanted > 0 && ahead.length <= extra / 2) fetching = fetch(wanted);
    };
    const settling = this.inFlight.settling;
    while (!signal.aborted) {
      if (settling.size >= MAX_ACKS_IN_FLIGHT) {
        // Redis is slower to acknowledge than handlers finish: wait rather than pile up acks.
        await Promise.race([...settling.keys(), new Promise<void>((r) => (wake = r))]);
        continue;
      }
      while (ahead.length > 0 && mine.size < limit) {
        const job = ahead.shift()!;
        readAt.shift();
        // Not held any more (a heartbeat found it taken while it waited): never start it.
        if (this.inFlight.ahead.delete(job)) start(job);
        if (!fetching) {
          fetchIfLow();
          // Sync handlers run a whole read in this loop: let the next read go out (its command
          // is written a few awaits into the transport) before running the rest, so that Redis
          // prepares it while they run. Nothing left to run: the loop waits below anyway.
          if (fetching && ahead.length > 0) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (signal.aborted) break;
          }
        }
      }
      // Stopped during that wait: its abort found no waiter to wake, so leave now.
      if (signal.aborted) break;
      if (ahead.length > 0 && performance.now() - readAt[0] >= this.maxAheadMs) {
        // The slots stay busy (handlers hang or slowed down): give the jobs waiting for them
        // back to the queue, where an idle worker takes them.
        isAheadStale = true;
        readAt.length = 0;
        const putting = this.putBack(ahead.splice(0)).finally(() => puttingBack.delete(putting));
        puttingBack.add(putting);
      }
      if (ahead.length > 0 && !expiry) {
        expiry = setTimeout(
          () => {
            expiry = undefined;
            notify();
          },
          Math.max(1, readAt[0] + this.maxAheadMs - performance.now()),
        );
        expiry.unref();
      }
      if (!fetching) fetchIfLow();
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (expiry) clearTimeout(expiry);
    await fetching;
    // Stopping: jobs read ahead never started. Put them back (at the queue's tail, the attempt
    // not counted) rather than leave them pending until another worker reclaims them.
    await Promise.all([this.putBack(ahead.splice(0)), ...puttingBack, this.batches?.close()]);
  }

  /**
   * Releases jobs read ahead that never started (at the queue's tail, attempt not counted). A
   * grouped job goes back to the head of its group: the last taken first, so that each group
   * gets its jobs back in the order they were taken.
   */
  private putBack(jobs: readonly ReservedJob[]): Promise<unknown> {
    const order = this.isGrouped ? [...jobs].reverse() : jobs;
    return Promise.all(
      order
        .filter((job) => this.inFlight.ahead.has(job))
        .map((job) =>
          this.settler
            .release(job, 0)
            .catch((error: unknown) => this.runner.reportUnsettled(job, error))
            .finally(() => this.inFlight.ahead.delete(job)),
        ),
    );
  }
}
