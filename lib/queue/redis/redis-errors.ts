import { StaleJobError, TransportError } from '../../errors/transport.error.js';
import { EventsError } from '../../errors/events.error.js';

/** Script return code: the receipt no longer holds (the job was reclaimed or is gone). */
export const STALE = 0;

/** Turns a settle script's return code into the outcome: throws `StaleJobError` when stale. */
export function assertSettled(code: number, jobId: string): void {
  if (code === STALE) throw new StaleJobError(jobId);
}

/** Whether Redis answered that the consumer group (or its stream) does not exist. */
export function isNoGroupError(error: unknown): boolean {
  return error instanceof Error && /NOGROUP/.test(error.message);
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
