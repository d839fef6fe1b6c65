/**
 * The queue `EventsClient.emit` writes to (one per prefix, its own hash slot on a cluster): a
 * producer may not have the listener classes, so it stores the event once, and any worker app of
 * the prefix fans it out. Reserved: do not name a queue of your own like this.
 */
export const INBOUND_QUEUE = 'events.inbound';

/** The listener id of inbound entries. */
export const INBOUND_LISTENER = 'EventsServer.inbound';

/**
 * How long (ms) an `EventsClient` event waits for a listener: an event no registered listener
 * matches is fanned out again until this age, then dead-lettered; a listener registered for the
 * first time gets the events fanned out this long before it.
 * @default 300000 (5 minutes)
 */
export const LATE_LISTENER_WINDOW_MS = 5 * 60_000;
