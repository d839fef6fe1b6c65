import { describeValue, EventsError } from './events.error.js';

/** A reactive saga emitted something that is neither an event class instance nor `{ name, data }`. */
export class InvalidSagaOutputError extends EventsError {
  constructor(
    readonly saga: string,
    readonly output: unknown,
  ) {
    super(
      'EVENTS_INVALID_SAGA_OUTPUT',
      `Saga ${saga} emitted ${describeValue(output)}: expected an event class instance or { name, data, options? }.`,
    );
  }
}
