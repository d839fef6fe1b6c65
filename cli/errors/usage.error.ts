import { EventsError } from 'nestjs-events';

/** The command line was used wrongly (a missing option, a refused confirmation): exit code 2. */
export class UsageError extends EventsError {
  constructor(message: string) {
    super('EVENTS_CLI_USAGE', message);
  }
}
