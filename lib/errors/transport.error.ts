import { EventsError } from './events.error.js';

/** The queue transport could not do what was asked (Redis unreachable, refused, ...). */
export class TransportError extends EventsError {
  constructor(message: string, options?: { cause?: unknown }, code = 'EVENTS_TRANSPORT_FAILED') {
    super(code, message, options);
  }
}

/** A job's lease was lost (it was reclaimed by another worker): this worker may not settle it. */
export class StaleJobError extends EventsError {
  constructor(readonly jobId: string) {
    super(
      'EVENTS_STALE_JOB',
      `Job ${jobId} is no longer owned by this worker (it was reclaimed); its outcome is ignored.`,
    );
  }
}
