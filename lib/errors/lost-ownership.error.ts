import { EventsError } from './events.error.js';

/**
 * The abort reason of `context.signal` when this worker no longer holds the job: a heartbeat or a
 * settle found it reclaimed by another worker (this one froze or lost Redis for longer than
 * `visibilityTimeout`), or gone. Another delivery runs the job; this attempt's outcome is ignored,
 * so a handler should stop its side effects when it sees this reason.
 */
export class LostOwnershipError extends EventsError {
  /** The abort reason as a word, for logs and branching. */
  readonly reason = 'lost-ownership';

  constructor(
    readonly jobId: string,
    readonly queue: string,
    readonly listener: string,
  ) {
    super(
      'EVENTS_LOST_OWNERSHIP',
      `lost-ownership: job ${jobId} of queue "${queue}" (listener ${listener}) is no longer held by this worker (reclaimed by another worker, or gone); this attempt is aborted and its outcome ignored.`,
    );
  }
}
