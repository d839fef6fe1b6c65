import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { JobTimeoutError } from '../errors/job-timeout.error.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import type { ReservedJob } from './queue-job.js';

/** Why an attempt failed, as stored with a retry or a dead job: `failed`, `timeout`, `unrecoverable`. */
export function failureReason(error: unknown): 'failed' | 'timeout' | 'unrecoverable' {
  if (error instanceof UnrecoverableError) return 'unrecoverable';
  return error instanceof JobTimeoutError ? 'timeout' : 'failed';
}

/** Whether a failed attempt is the job's last: attempts used up, or an `UnrecoverableError`. */
export function isFinalFailure(error: unknown, attempt: number, tries: number): boolean {
  return error instanceof UnrecoverableError || attempt >= tries;
}

/**
 * @internal Watches the attempts of a worker (`EventMetrics`): `observe` runs `run` (one handler
 * call through its middleware: a promise, or `undefined` when it was over when it returned) and
 * returns what it returned, its errors unchanged.
 */
export interface AttemptObserver {
  observe(
    job: ReservedJob,
    event: EventEnvelope,
    listener: ListenerDefinition,
    run: () => Promise<unknown> | undefined,
  ): Promise<unknown> | undefined;
  /**
   * One call of a batched listener (`@ShouldQueue({ batch })`), once it is over: each job's
   * attempt ended as `jobs` says (no `failure`: handled), and the call took `durationMs`.
   */
  observeBatch(
    listener: ListenerDefinition,
    jobs: readonly BatchAttempt[],
    durationMs: number,
  ): void;
}

/** How the attempt of one job of a batch ended: `failure` unset when the job was handled. */
export interface BatchAttempt {
  readonly job: ReservedJob;
  readonly event: EventEnvelope;
  readonly failure?: { readonly error: unknown };
}
