import { EventsError } from './events.error.js';

/** An upcaster threw while reading an older event (a store read, a replay); names the event. */
export class UpcastFailedError extends EventsError {
  constructor(
    readonly eventId: string,
    readonly eventName: string,
    readonly fromVersion: number,
    cause: unknown,
  ) {
    super(
      'EVENTS_UPCAST_FAILED',
      `Upcasting event ${eventId} ("${eventName}") from version ${fromVersion} failed: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}
