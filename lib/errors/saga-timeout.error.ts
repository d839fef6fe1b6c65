import { EventsError } from './events.error.js';

/** A saga's deadline (`@OrchestratedSaga({ timeout })`) or a `waitFor` step's timeout passed. */
export class SagaTimeoutError extends EventsError {
  constructor(
    readonly sagaId: string,
    /** The step that was waiting, or undefined for the saga's own deadline. */
    readonly step: string | undefined,
    readonly timeoutMs: number,
  ) {
    super(
      'EVENTS_SAGA_TIMEOUT',
      step === undefined
        ? `Saga "${sagaId}" did not finish within its timeout of ${timeoutMs} ms.`
        : `Saga "${sagaId}": step ${step} waited more than its timeout of ${timeoutMs} ms.`,
    );
  }
}
