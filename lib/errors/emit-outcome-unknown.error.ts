import { TransportError } from './transport.error.js';

/**
 * An emit whose jobs may or may not be stored: the command reached (or may have reached) Redis
 * and no reply came back (the connection dropped with it in flight, or no reply within
 * `redisCommandTimeout`). Re-emitting with the same `id` is safe when the emit passed one
 * (`emit(name, data, { id })`, see `dedupeWindowMs`): nothing is stored twice.
 * A `TransportError`, so code that handles transport failures handles it too; a plain
 * `TransportError` from an emit means its jobs were certainly not stored.
 */
export class EmitOutcomeUnknownError extends TransportError {
  constructor(
    /** The id of the event whose jobs may be stored: re-emit with `{ id: eventId }`. */
    readonly eventId: string,
    message: string,
    options?: { cause?: unknown },
    code = 'EVENTS_EMIT_OUTCOME_UNKNOWN',
  ) {
    super(message, options, code);
  }
}
