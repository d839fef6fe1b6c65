import { StaleJobError, TransportError } from '../../errors/transport.error.js';
import { EventsError } from '../../errors/events.error.js';
import { SettleOutcomeUnknownError } from '../../errors/settle-outcome-unknown.error.js';
import { EmitOutcomeUnknownError } from '../../errors/emit-outcome-unknown.error.js';

/** Script return code: the receipt no longer holds (the job was reclaimed or is gone). */
export const STALE = 0;

/** Turns a settle script's return code into the outcome: throws `StaleJobError` when stale. */
export function assertSettled(code: number, jobId: string): void {
  if (code === STALE) throw new StaleJobError(jobId);
}

/** Whether Redis answered that the consumer group (or its stream) does not exist. */
export function isNoGroupError(error: unknown): boolean {
  // A blocked read whose stream was deleted (EventQueues.obliterate) lost its group too.
  return error instanceof Error && /NOGROUP|stream key no longer exists/.test(error.message);
}

/** Whether Redis answered that the group exists already (XGROUP CREATE). */
export function isBusyGroupError(error: unknown): boolean {
  return error instanceof Error && /BUSYGROUP/.test(error.message);
}

/**
 * Wraps a Redis or connection failure in a `TransportError` saying what was attempted.
 * `reason` is the error, or a message naming the real cause (`cause` is then the error).
 */
export function transportError(
  what: string,
  reason: unknown,
  cause: unknown = reason,
): EventsError {
  if (reason instanceof EventsError) return reason;
  const message = reason instanceof Error ? reason.message : String(reason);
  return new TransportError(`Redis transport: ${what} failed: ${message}`, { cause });
}

/**
 * How a failed command ended, as far as this process can tell:
 * - `unsent`: never written (the connection was down: ioredis buffers nothing), so it did not run;
 * - `refused`: Redis answered with an error (WRONGTYPE, OOM, ...), so it did not run;
 * - `lost-reply`: written, then the connection dropped before the reply (ioredis's "max retries
 *   per request limit (which is 0)" or "Connection is closed"): it may have run;
 * - `timeout`: written, no reply within `redisCommandTimeout`: it may have run.
 * The one place that reads ioredis's messages; settles and emits are classified alike.
 */
export type FailureKind = 'unsent' | 'refused' | 'lost-reply' | 'timeout';

/** Classifies a failed command (see `FailureKind`). */
export function classifyFailure(error: unknown): FailureKind {
  const message = error instanceof Error ? error.message : String(error);
  if (/Command timed out/i.test(message)) return 'timeout';
  if (/max retries per request|Connection is closed/i.test(message)) return 'lost-reply';
  if (error instanceof Error && error.name === 'ReplyError') return 'refused';
  return 'unsent';
}

/**
 * Whether a failed command may still have run: it was sent and no reply came (ioredis's command
 * timeout, or the connection dropped with it in flight). A command never sent (the connection
 * was already down) or refused by Redis certainly did not run.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  const kind = classifyFailure(error);
  return kind === 'lost-reply' || kind === 'timeout';
}

/** Why a command's outcome is unknown, for messages; `unreachable` from the connection factory. */
function unknownCause(error: unknown, unreachable: string | undefined): string {
  if (classifyFailure(error) === 'timeout')
    return 'no reply within redisCommandTimeout (Redis stalled?)';
  return `the connection to Redis dropped with it in flight${unreachable ? ` (${unreachable})` : ''}`;
}

/** Wraps a settle's failure: `SettleOutcomeUnknownError` when Redis may have carried it out. */
export function settleError(
  what: string,
  jobIds: readonly string[],
  error: unknown,
  unreachable?: string,
): EventsError {
  if (!isOutcomeUnknown(error)) return transportError(what, unreachable ?? error, error);
  return new SettleOutcomeUnknownError(
    jobIds,
    `Redis transport: ${what}: outcome unknown, ${unknownCause(error, unreachable)}; Redis may have carried it out, and repeating it is safe`,
    { cause: error },
  );
}

/**
 * Wraps the failure of storing one emit's jobs: `EmitOutcomeUnknownError` (with the event id)
 * when they may be stored, else a `TransportError` saying why nothing was stored, naming the
 * real cause ("Redis unreachable at host:port since ...") rather than ioredis's wording.
 */
export function emitError(
  what: string,
  eventId: string,
  isDeduplicated: boolean,
  error: unknown,
  unreachable: string | undefined,
): EventsError {
  if (error instanceof EventsError) return error;
  if (!isOutcomeUnknown(error)) {
    const cause = classifyFailure(error) === 'unsent' && unreachable ? unreachable : undefined;
    return transportError(`${what} (nothing was stored)`, cause ?? error, error);
  }
  const retry = isDeduplicated
    ? `re-emitting with { id: '${eventId}' } stores nothing twice`
    : 'an emit without an explicit id cannot be retried safely (pass { id } to emit)';
  return new EmitOutcomeUnknownError(
    eventId,
    `Redis transport: ${what}: outcome unknown, ${unknownCause(error, unreachable)}; the jobs may be stored: ${retry}`,
    { cause: error },
  );
}
