import { EventsError } from './events.error.js';

/** A payload that cannot travel to a queued listener as JSON (a cycle, a BigInt, a function, ...). */
export class UnserializablePayloadError extends EventsError {
  constructor(
    readonly eventName: string,
    reason: string,
  ) {
    super(
      'EVENTS_UNSERIALIZABLE_PAYLOAD',
      `The payload of "${eventName}" cannot be queued: ${reason}. Queued listeners receive JSON: ` +
        `use plain objects, arrays, strings, numbers, booleans and null (dates become strings).`,
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
