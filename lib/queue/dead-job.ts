import type { EventEnvelope } from '../event/event-envelope.js';
import { deserializeEnvelope } from '../event/event.serializer.js';
import { tagsOfPayload } from '../event/event-tags.js';
import type { DeadJob as StoredDeadJob } from './queue-job.js';

/** A job in a queue's dead letters, as `EventQueues.listDead` returns it. */
export interface DeadJob extends Omit<StoredDeadJob, 'payload'> {
  /**
   * The event the job carried, parsed as its listener would have received it (class events
   * rehydrated); `undefined` when the stored payload does not parse (`reason: 'malformed'`).
   */
  readonly payload: EventEnvelope | undefined;
  /** The payload as stored, for a job whose payload does not parse. */
  readonly rawPayload: string;
  /** The tags its event's `tags()` gave when it was emitted (empty when none). */
  readonly tags: readonly string[];
}

/**
 * Parses a stored job's payload as its listener would receive it; never throws (a payload that
 * does not parse is shown as `undefined`, its text kept in `rawPayload`).
 */
export function withParsedPayload<S extends { readonly payload: string }>(
  stored: S,
  eventClass: (name: string) => Function | undefined,
): Omit<S, 'payload'> & {
  payload: EventEnvelope | undefined;
  rawPayload: string;
  tags: readonly string[];
} {
  let payload: EventEnvelope | undefined;
  try {
    payload = deserializeEnvelope(stored.payload, eventClass);
  } catch {
    payload = undefined;
  }
  return { ...stored, payload, rawPayload: stored.payload, tags: tagsOfPayload(stored.payload) };
}

/** Parses a stored dead job's payload; never throws (a malformed payload is why it is dead). */
export function parseDeadJob(
  stored: StoredDeadJob,
  eventClass: (name: string) => Function | undefined,
): DeadJob {
  return withParsedPayload(stored, eventClass);
}
