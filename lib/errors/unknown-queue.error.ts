import { EventsError } from './events.error.js';

/** A queue name that no listener of this app and no stored job knows (a typo, most often). */
export class UnknownQueueError extends EventsError {
  constructor(
    readonly queue: string,
    readonly knownQueues: readonly string[],
  ) {
    super(
      'EVENTS_UNKNOWN_QUEUE',
      `Unknown queue "${queue}": no queued listener of this app uses it and it holds no jobs. ` +
        (knownQueues.length > 0
          ? `Known queues: ${knownQueues.map((q) => `"${q}"`).join(', ')}.`
          : 'This app knows no queue yet.'),
    );
  }
}
