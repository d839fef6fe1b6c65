import { EventsError } from './events.error.js';

/** One reason a payload was refused. */
export interface EventViolation {
  /** Where in the payload (`email`, `address.zip`); empty for the payload as a whole. */
  readonly path: string;
  readonly message: string;
}

/**
 * `emit` refused a payload: its event's validator found violations. Thrown before anything is
 * stored or any listener runs; `violations` lists every one.
 */
export class EventValidationError extends EventsError {
  constructor(
    readonly eventName: string,
    readonly violations: readonly EventViolation[],
  ) {
    super(
      'EVENTS_INVALID_PAYLOAD',
      `The payload of "${eventName}" is invalid (${violations.length} violation${violations.length === 1 ? '' : 's'}): ` +
        violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message)).join('; ') +
        '.',
    );
  }
}
