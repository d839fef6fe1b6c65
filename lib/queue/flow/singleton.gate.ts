import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../../event/event-envelope.js';
import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import { JobCancelledError } from '../../errors/job-cancelled.error.js';
import type { CoordinationStore } from '../../middleware/coordination.store.js';
import type { AttemptAbort } from '../attempt-abort.js';
import type { NewJob, ReservedJob } from '../queue-job.js';
import { resolveFlowKey } from './flow-options.js';

/** The singleton key of a job, computed at emit (`NewJob.singleton`). */
export interface SingletonClaim {
  /** The coordination store key: `singleton:<listener>:<key>`. */
  readonly key: string;
  readonly mode: 'skip' | 'cancel';
}

/** The store key of a listener's singleton for `event`. @throws InvalidOptionError */
export function singletonKey(listener: ListenerDefinition, event: EventEnvelope): string {
  const options = listener.queue?.singleton;
  if (options === undefined) throw new TypeError(`${listener.id} has no singleton option`);
  return `singleton:${listener.id}:${resolveFlowKey(options.key, event, `@ShouldQueue singleton.key of ${listener.id}`)}`;
}

/** The token a job holds its key with: the job id, so a reclaimed delivery keeps the key. */
function tokenOf(jobId: string): string {
  return `job:${jobId}`;
}

/**
 * Singletons on the coordination store (Redis with `redis`, memory otherwise). A running job
 * holds its key as a lease of `leaseMs` (the visibility timeout), renewed every `pollMs`: a
 * killed worker's key frees when the lease expires. A `cancel` job takes the key over; the
 * holder finds out at its next renewal (at once in this process) and its signal aborts with a
 * `JobCancelledError`.
 */
export class SingletonGate {
  private readonly logger = new Logger('Singleton');
  /** Running holders in this process, by store key: cancelled at once on a take-over here. */
  private readonly local = new Map<string, { token: string; cancel: () => void }>();

  constructor(
    private readonly store: CoordinationStore,
    private readonly leaseMs: number,
    private readonly pollMs: number,
  ) {}

  /**
   * At emit: drops `skip` jobs whose key has a running job; a `cancel` job takes over a held
   * key at once, so the running job stops even while the new one waits for a slot.
   */
  async admit(jobs: readonly NewJob[]): Promise<NewJob[]> {
    const kept: NewJob[] = [];
    for (const job of jobs) {
      const claim = job.singleton;
      if (claim === undefined) {
        kept.push(job);
        continue;
      }
      const holder = await this.store.get(claim.key);
      if (holder === undefined) {
        kept.push(job);
      } else if (claim.mode === 'cancel') {
        await this.store.set(claim.key, tokenOf(job.id), this.leaseMs);
        this.cancelLocal(claim.key, holder);
        kept.push(job);
      } else {
        this.logger.debug(`Job ${job.id} skipped at emit: "${claim.key}" has a running job`);
      }
    }
    return kept;
  }

  /**
   * Runs `run` holding the job's key; resolves without running it when a `skip` job finds the
   * key held (the job is then acknowledged).
   */
  async around(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    controller: AttemptAbort,
    run: () => Promise<unknown> | undefined,
  ): Promise<unknown> {
    const mode = listener.queue?.singleton?.mode;
    const key = singletonKey(listener, event);
    const token = tokenOf(job.id);
    const found = await this.store.acquire(key, token, this.leaseMs);
    if (!found.isAcquired) {
      if (mode === 'skip') {
        this.logger.debug(`Job ${job.id} skipped: "${key}" has a running job`);
        return undefined;
      }
      await this.store.set(key, token, this.leaseMs);
      if (found.holder !== undefined) this.cancelLocal(key, found.holder);
    }
    const cancel = (): void =>
      controller.abort(new JobCancelledError(job.id, job.queue, job.listener, 'singleton'));
    this.local.set(key, { token, cancel });
    const timer = setInterval(() => void this.renew(key, token, cancel), this.pollMs);
    timer.unref();
    try {
      return await run();
    } finally {
      clearInterval(timer);
      if (this.local.get(key)?.token === token) this.local.delete(key);
      await this.store
        .release(key, token)
        .catch((e: unknown) => this.logger.warn(`Releasing "${key}" failed: ${String(e)}`));
    }
  }

  /** Keeps the key; a key taken over by another job cancels this one. */
  private async renew(key: string, token: string, cancel: () => void): Promise<void> {
    try {
      if (await this.store.extend(key, token, this.leaseMs)) return;
      // Expired (this worker froze past the lease) rather than taken over: hold it again.
      if ((await this.store.acquire(key, token, this.leaseMs)).isAcquired) return;
      cancel();
    } catch (error) {
      this.logger.warn(`Renewing "${key}" failed: ${String(error)}`);
    }
  }

  private cancelLocal(key: string, holder: string): void {
    const running = this.local.get(key);
    if (running?.token === holder) running.cancel();
  }
}
