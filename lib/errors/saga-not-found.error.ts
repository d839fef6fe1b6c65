import { EventsError } from './events.error.js';

/** No saga is stored under this id (`abort`, `retry`). */
export class SagaNotFoundError extends EventsError {
  constructor(readonly sagaId: string) {
    super('EVENTS_SAGA_NOT_FOUND', `No saga with id "${sagaId}".`);
  }
}
