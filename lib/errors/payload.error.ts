import { EventsError } from './events.error.js';

/**
 * A payload a queued listener could not receive as it was emitted (a function, a symbol, a
 * Promise, an Error, ...). Thrown by every emit, whether or not a
 * queued listener matches today, unless the emit says `{ inProcessOnly: true }`.
 */
export class UnserializablePayloadError extends EventsError {
  constructor(
    readonly eventName: string,
    reason: string,
  ) {
    super(
      'EVENTS_UNSERIALIZABLE_PAYLOAD',
      `The payload of "${eventName}" cannot be queued: ${reason}. Queued listeners receive ` +
        `plain data, undefined, BigInt, Date, Map, Set, RegExp, URL, typed arrays, Buffers and ` +
        `event class instances as they were emitted (other class instances as plain data); emit ` +
        `with { inProcessOnly: true } an event that only in-process listeners receive.`,
    );
  }
}

/** A serialized payload above `maxPayloadBytes`. */
export class PayloadTooLargeError extends EventsError {
  constructor(
    readonly eventName: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(
      'EVENTS_PAYLOAD_TOO_LARGE',
      `The payload of "${eventName}" is ${bytes} bytes serialized, above the limit of ${maxBytes} ` +
        `(option maxPayloadBytes). Store large data elsewhere and emit a reference to it.`,
    );
  }
}
