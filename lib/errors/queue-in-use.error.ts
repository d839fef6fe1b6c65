import { EventsError } from './events.error.js';

/** A destructive queue operation refused because workers are reading the queue right now. */
export class QueueInUseError extends EventsError {
  constructor(
    readonly queue: string,
    /** Who is reading it: a Redis consumer name, or `this process`. */
    readonly reader: string,
  ) {
    super(
      'EVENTS_QUEUE_IN_USE',
      `Queue "${queue}" is being read by a worker (${reader}): stop its workers first, or pass { force: true }.`,
    );
  }
}
