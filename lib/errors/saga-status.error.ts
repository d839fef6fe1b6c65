import { EventsError } from './events.error.js';

/**
 * An operation the saga's status does not allow: `abort` of a finished saga, `retry` of a saga
 * that is not `failed`. Nothing was written.
 */
export class SagaStatusError extends EventsError {
  constructor(
    readonly sagaId: string,
    readonly status: string,
    readonly operation: string,
    expected: string,
  ) {
    super(
      'EVENTS_SAGA_STATUS',
      `Cannot ${operation} saga "${sagaId}": it is ${status}, expected ${expected}.`,
    );
  }
}
