import { Logger } from '@nestjs/common';
import { StaleJobError, TransportError } from '../errors/transport.error.js';
import { abortableSleep, retryDelay } from './abortable-sleep.js';
import type { JobFailure, ReservedJob } from './queue-job.js';
import type { QueueTransport } from './queue-transport.interface.js';

/** First wait (ms) before a settle is tried again after a connection failure. */
const SETTLE_RETRY_BASE_MS = 50;
/** Longest wait (ms) between two tries of one settle. */
const SETTLE_RETRY_MAX_MS = 2000;

/**
 * Settles jobs (ack, retry, release, dead-letter) and survives connection blips: a settle that
 * fails with a `TransportError` is tried again with capped backoff until the transport accepts it
 * or refuses it as stale (`StaleJobError`: fencing makes a repeat safe), while the caller keeps
 * the job in its held set so that heartbeats keep it from being reclaimed. It gives up only when
 * `giveUp` fires (shutdown past its deadline), leaving the job pending for a reclaim.
 */
export class JobSettler {
  private readonly logger = new Logger(JobSettler.name);

  constructor(
    private readonly transport: QueueTransport,
    private readonly giveUp: AbortSignal,
  ) {}

  ack(job: ReservedJob): Promise<void> {
    return this.settle(job, 'acknowledging', () => this.transport.ack(job));
  }

  retry(job: ReservedJob, delayMs: number, failure: JobFailure): Promise<void> {
    return this.settle(job, 'scheduling a retry of', () =>
      this.transport.retry(job, delayMs, failure),
    );
  }

  release(job: ReservedJob, delayMs: number): Promise<void> {
    return this.settle(job, 'releasing', () => this.transport.release(job, delayMs));
  }

  deadLetter(job: ReservedJob, failure: JobFailure): Promise<void> {
    return this.settle(job, 'dead-lettering', () => this.transport.deadLetter(job, failure));
  }

  /**
   * Runs `op`, a step that must happen before `job` is settled (a failure hook that stores where
   * a saga goes next), until it succeeds, whatever it throws: the job stays held meanwhile, so
   * no other worker runs it, and its handler is not called again. Rejects only when `giveUp`
   * fires, leaving the job pending for a reclaim.
   */
  persist(job: ReservedJob, what: string, op: () => Promise<void>): Promise<void> {
    return op().then(undefined, (error: unknown) => this.tryAgain(job, what, op, error, true));
  }

  /**
   * The first try without an async frame of its own (it runs for every job): only a settle that
   * failed enters the retry loop.
   */
  private settle(job: ReservedJob, what: string, op: () => Promise<void>): Promise<void> {
    let first: Promise<void>;
    try {
      first = op();
    } catch (error) {
      return this.tryAgain(job, what, op, error);
    }
    return first.then(undefined, (error: unknown) => this.tryAgain(job, what, op, error));
  }

  /** Tries `op` again after its first try failed with `error`, as long as that makes sense. */
  private async tryAgain(
    job: ReservedJob,
    what: string,
    op: () => Promise<void>,
    error: unknown,
    isAnyErrorRetried = false,
  ): Promise<void> {
    let failures = 0;
    for (;;) {
      if (error instanceof StaleJobError && failures > 0) {
        // The first try may have reached Redis before its reply was lost: say so, and claim no
        // failure that may not have happened.
        this.logger.warn(
          `Job ${job.id} of queue "${job.queue}": ${what} was refused as stale after a connection failure: either an earlier try was applied, or another worker took the job`,
        );
        return;
      }
      const isRetried = isAnyErrorRetried || error instanceof TransportError;
      if (!isRetried || this.giveUp.aborted) throw error;
      failures++;
      if (failures === 1 || failures % 20 === 0) {
        this.logger.warn(
          `Job ${job.id} of queue "${job.queue}": ${what} failed (${failures}x), retrying while the job stays held: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      await abortableSleep(
        retryDelay(failures - 1, SETTLE_RETRY_BASE_MS, SETTLE_RETRY_MAX_MS),
        this.giveUp,
      );
      if (this.giveUp.aborted) throw error;
      try {
        await op();
        this.logger.log(
          `Job ${job.id} of queue "${job.queue}": ${what} succeeded on try ${failures + 1}`,
        );
        return;
      } catch (next) {
        error = next;
      }
    }
  }
}
