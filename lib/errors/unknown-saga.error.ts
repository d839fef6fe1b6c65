import { describeValue, EventsError } from './events.error.js';

/** `SagaManager` was given a saga class or name that no `@OrchestratedSaga` provider declares. */
export class UnknownSagaError extends EventsError {
  constructor(
    readonly saga: unknown,
    known: readonly string[],
  ) {
    super(
      'EVENTS_UNKNOWN_SAGA',
      `Unknown saga ${typeof saga === 'function' ? saga.name : describeValue(saga)}: ` +
        `expected an @OrchestratedSaga provider class or name (known: ${known.join(', ') || 'none'}).`,
    );
  }
}
