import { EventsError } from './events.error.js';

/**
 * An append's `expectedVersion` did not match the stream: someone else appended first (or the
 * stream exists when `'no_stream'` was expected). Nothing was written; reload and try again.
 */
export class WrongExpectedVersionError extends EventsError {
  constructor(
    /** The stream appended to. */
    readonly streamId: string,
    /** What the caller expected: a version, or `'no_stream'`. */
    readonly expectedVersion: number | string,
    /** The stream's version when the append was refused (0 when it has no event). */
    readonly actualVersion: number,
  ) {
    super(
      'EVENTS_WRONG_EXPECTED_VERSION',
      `Cannot append to stream ${JSON.stringify(streamId)}: expected version ${
        typeof expectedVersion === 'number' ? expectedVersion : `"${expectedVersion}"`
      }, but the stream is at version ${actualVersion}. Reload the stream and retry.`,
    );
  }
}
