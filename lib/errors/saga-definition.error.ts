import { EventsError } from './events.error.js';

/**
 * A saga declared wrongly, found at boot: a `compensate` naming no method, a duplicate saga name,
 * `waitFor` or `startOn` without `key`, a `@Saga` that is not a function.
 */
export class SagaDefinitionError extends EventsError {
  constructor(
    /** The saga (its name, or its class and member). */
    readonly saga: string,
    /** What is wrong with it. */
    readonly problem: string,
  ) {
    super('EVENTS_SAGA_DEFINITION', `Saga ${saga}: ${problem}.`);
  }
}
