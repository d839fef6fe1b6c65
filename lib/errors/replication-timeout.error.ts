import { EmitOutcomeUnknownError } from './emit-outcome-unknown.error.js';

/**
 * An emit was stored on the Redis primary, but fewer replicas than `replication.replicas`
 * acknowledged it within `replication.timeoutMs`: a failover now could lose it. Its outcome is
 * unknown to the caller; re-emitting with the same `id` is safe when the emit passed one.
 */
export class ReplicationTimeoutError extends EmitOutcomeUnknownError {
  constructor(
    eventId: string,
    /** Replicas that acknowledged in time. */
    readonly acknowledged: number,
    /** Replicas asked for (`replication.replicas`). */
    readonly required: number,
    message: string,
  ) {
    super(eventId, message, undefined, 'EVENTS_REPLICATION_TIMEOUT');
  }
}
