import type { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { attemptFields, errorField, toLogfmt } from '../middleware/attempt-log.js';
import { failureReason, isFinalFailure } from './attempt-outcome.js';
import { backoffDelay } from './backoff.js';
import type { JobSettler } from './job-settler.js';
import type { JobFailure, ReservedJob } from './queue-job.js';

function failureOf(reason: string, error: unknown): JobFailure {
  if (error instanceof Error) {
    return {
      reason,
      message: error.message,
      stack: error.stack?.split('\n').slice(0, 6).join('\n'),
    };
  }
  return { reason, message: String(error) };
}

/**
 * The end of a failed attempt (`JobRunner.fail`): retried with backoff while attempts are left,
 * else dead-lettered with the listener's failure hook called once. Logged on `logger`.
 */
export async function failAttempt(
  settler: JobSettler,
  logger: Logger,
  listener: ListenerDefinition,
  event: EventEnvelope,
  job: ReservedJob,
  error: unknown,
): Promise<void> {
  const options = listener.queue!;
  const isFinal = isFinalFailure(error, job.attempt, options.tries);
  const reason = failureReason(error);
  // The fields of `Logging`'s lines, so a log platform reads both the same way.
  const fields = attemptFields(event, listener.id, job.attempt, job.queue);
  fields.tries = options.tries;
  if (!isFinal) {
    const delayMs = backoffDelay(options.backoff, job.attempt);
    Object.assign(fields, { outcome: 'retry', retryMs: delayMs, error: errorField(error) });
    logger.warn(toLogfmt(fields));
    return settler.retry(job, delayMs, failureOf(reason, error));
  }
  Object.assign(fields, { outcome: 'dead', reason, error: errorField(error) });
  logger.error(toLogfmt(fields), error instanceof Error ? error.stack : undefined);
  if (options.isHookBeforeDeadLetter) {
    // The hook stores where the job's work goes next: dead-lettering the job before it
    // succeeded would lose that move for good. It runs again (the handler does not) while the
    // worker holds the job; a worker that stops first leaves the job for a reclaim.
    const { onFailed } = options;
    if (onFailed) {
      await settler.persist(job, `the failure hook of ${listener.id}`, async () => {
        await onFailed(event, error);
      });
    }
    return settler.deadLetter(job, failureOf(reason, error));
  }
  await settler.deadLetter(job, failureOf(reason, error));
  await failed(logger, listener, event, error);
}

/** Calls `listener`'s failure hook, if any; a hook that throws is logged. */
async function failed(
  logger: Logger,
  listener: ListenerDefinition,
  event: EventEnvelope,
  error: unknown,
): Promise<void> {
  const { onFailed } = listener.queue!;
  if (!onFailed) return;
  try {
    await onFailed(event, error);
  } catch (hookError) {
    logger.error(`Failure hook of ${listener.id} threw: ${String(hookError)}`);
  }
}
