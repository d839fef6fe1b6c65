import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { JobTimeoutError } from '../errors/job-timeout.error.js';
import { LostOwnershipError } from '../errors/lost-ownership.error.js';
import { ReleaseJobSignal } from '../middleware/release-job.signal.js';
import { isFinalFailure } from '../queue/attempt-outcome.js';
import { SHUTDOWN_REASON } from '../queue/job-runner.js';
import type { ReservedJob } from '../queue/queue-job.js';
import type { AttemptOutcome } from './metrics-store.js';

/** Most attempts: one shared answer, not an object per attempt. */
const HANDLED = Object.freeze({ outcome: 'handled' as AttemptOutcome, isTimedOut: false });

/**
 * How a queued attempt ended, decided as the worker decides it (same `isFinalFailure`): handled,
 * released by a middleware, retried, or dead-lettered; `undefined` for an attempt that has no
 * outcome of its own (aborted by shutdown or because another worker took the job: it runs again).
 */
export function queuedOutcome(
  job: ReservedJob,
  listener: ListenerDefinition,
  isFailed: boolean,
  error: unknown,
): { readonly outcome: AttemptOutcome; readonly isTimedOut: boolean } | undefined {
  if (!isFailed) return HANDLED;
  if (error instanceof ReleaseJobSignal) return { outcome: 'released', isTimedOut: false };
  if (error === SHUTDOWN_REASON || error instanceof LostOwnershipError) return undefined;
  const tries = listener.queue?.tries ?? 1;
  return {
    outcome: isFinalFailure(error, job.attempt, tries) ? 'deadLettered' : 'retried',
    isTimedOut: error instanceof JobTimeoutError,
  };
}
