import { TransportError } from './transport.error.js';

/**
 * A settle (ack, retry, release, dead-letter) got no reply from Redis (a command timeout, or the
 * connection dropped with it in flight): Redis may well have carried it out. Not a failure that
 * certainly happened; repeating it is safe (a settle already done is refused as stale).
 * A `TransportError`, so code that handles transport failures handles it too.
 */
export class SettleOutcomeUnknownError extends TransportError {
  constructor(
    /** The jobs whose settle has an unknown outcome. */
    readonly jobIds: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options, 'EVENTS_SETTLE_OUTCOME_UNKNOWN');
  }
}
