import { EventsError } from './events.error.js';

/**
 * The abort reason of `context.signal` when flow control cancelled the running attempt: a newer
 * job of the same `singleton` key (`mode: 'cancel'`), or a matching `cancelOn` event. The job is
 * done (acknowledged, not retried); a handler should stop its side effects when it sees this.
 */
export class JobCancelledError extends EventsError {
  /** The abort reason as a word, for logs and branching. */
  readonly reason = 'cancelled';

  constructor(
    readonly jobId: string,
    readonly queue: string,
    readonly listener: string,
    /** What cancelled it: `singleton` or `cancel-on`. */
    readonly by: 'singleton' | 'cancel-on',
  ) {
    super(
      'EVENTS_JOB_CANCELLED',
      `cancelled: job ${jobId} of queue "${queue}" (listener ${listener}) was cancelled by ${by === 'singleton' ? 'a newer job of its singleton key' : 'a matching cancelOn event'}; the job is done and not retried.`,
    );
  }
}
