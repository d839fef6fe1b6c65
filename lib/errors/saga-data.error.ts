import { EventsError } from './events.error.js';

/** A saga's input or state that cannot be stored (a function, a symbol, too large...). */
export class SagaDataError extends EventsError {
  constructor(
    readonly saga: string,
    /** `input` or `state`. */
    readonly part: 'input' | 'state',
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('EVENTS_SAGA_DATA', `Saga ${saga}: its ${part} cannot be stored: ${reason}`, options);
  }
}
