import { StaleJobError, TransportError } from '../../errors/transport.error.js';
import { EventsError } from '../../errors/events.error.js';
import { SettleOutcomeUnknownError } from '../../errors/settle-outcome-unknown.error.js';

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

/** Wraps a Redis or connection failure in a `TransportError` saying what was attempted. */
export function transportError(what: string, error: unknown): EventsError {
  if (error instanceof EventsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransportError(`Redis transport: ${what} failed: ${message}`, { cause: error });
}

/**
 * Whether a failed command may still have run: it was sent and no reply came (ioredis's command
 * timeout, or the connection dropped with it in flight). A command never sent (the connection
 * was already down) or refused by Redis certainly did not run.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  return (
    error instanceof Error &&
    /Command timed out|max retries per request|Connection is closed/i.test(error.message)
  );
}

/** Wraps a settle's failure: `SettleOutcomeUnknownError` when Redis may have carried it out. */
export function settleError(what: string, jobIds: readonly string[], error: unknown): EventsError {
  if (!isOutcomeUnknown(error)) return transportError(what, error);
  const message = (error as Error).message;
  const why = /Command timed out/i.test(message)
    ? 'no reply within redisCommandTimeout (Redis stalled?)'
    : 'the connection to Redis dropped with it in flight';
  return new SettleOutcomeUnknownError(
    jobIds,
    `Redis transport: ${what}: outcome unknown, ${why}; Redis may have carried it out, and repeating it is safe`,
    { cause: error },
  );
}
