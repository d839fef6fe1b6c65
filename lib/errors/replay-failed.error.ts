import { EventsError } from './events.error.js';

/**
 * A listener failed during `EventReplayer.replay`: the replay stopped at that event. Pass
 * `checkpoint` as `fromPosition` to resume from it once the listener is fixed.
 */
export class ReplayFailedError extends EventsError {
  constructor(
    /** The listener that failed. */
    readonly listener: string,
    /** The id of the event it failed on. */
    readonly eventId: string,
    /** The global position to resume from (the failed event's). */
    readonly checkpoint: number,
    /** How many listener calls succeeded before. */
    readonly delivered: number,
    cause: unknown,
  ) {
    super(
      'EVENTS_REPLAY_FAILED',
      `Replay stopped: listener ${listener} failed on event ${eventId} at position ${checkpoint} ` +
        `(${cause instanceof Error ? cause.message : String(cause)}). ` +
        `Resume with replay({ ..., fromPosition: ${checkpoint} }).`,
      { cause },
    );
  }
}
