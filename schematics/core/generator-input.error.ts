import { EventsError } from 'nestjs-events';

/**
 * A generator refused its input (a class name that is not PascalCase, an invalid event name, a
 * file that exists without `force`): exit code 2 on the command line.
 */
export class GeneratorInputError extends EventsError {
  constructor(message: string) {
    super('EVENTS_GENERATOR_INPUT', message);
  }
}
