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
}
