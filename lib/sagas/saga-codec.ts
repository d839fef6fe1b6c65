import type { EventEnvelope } from '../event/event-envelope.js';
import { deserializeEnvelope, serializeEnvelope } from '../event/event.serializer.js';
import { EventsError } from '../errors/events.error.js';
import { SagaDataError } from '../errors/saga-data.error.js';

/** A saga's input and state, as one stored value. */
export interface SagaData {
  readonly input: unknown;
  readonly state: unknown;
}

/**
 * Input and state go through the event serializer (the same types a queued event carries: Date,
 * BigInt, Map, class events), wrapped in an envelope named after the saga.
 *
 * @throws SagaDataError naming the part that cannot be stored.
 */
export function encodeSagaData(
  saga: string,
  id: string,
  data: SagaData,
  part: 'input' | 'state',
  maxBytes: number,
): string {
  try {
    return serializeEnvelope(
      { id, name: `saga.${saga}`, data, metadata: {}, timestamp: 0 },
      maxBytes,
    );
  } catch (error) {
    if (error instanceof EventsError) {
      throw new SagaDataError(saga, part, error.message, { cause: error });
    }
    throw error;
  }
}

/** Reads what `encodeSagaData` wrote. */
export function decodeSagaData(
  text: string,
  eventClass: (name: string) => Function | undefined,
): SagaData {
  return deserializeEnvelope(text, eventClass).data as SagaData;
}

/** An event kept for a `waitFor` step, as stored. */
export function encodeEvent(event: EventEnvelope, maxBytes: number): string {
  return serializeEnvelope(event, maxBytes);
}

export function decodeEvent(
  text: string,
  eventClass: (name: string) => Function | undefined,
): EventEnvelope {
  return deserializeEnvelope(text, eventClass);
}
