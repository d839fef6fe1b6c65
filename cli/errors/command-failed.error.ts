import { EventsError } from 'nestjs-events';

/** A command ran and reports failure (`monitor` over its limit, a replay that threw): exit code 1. */
export class CommandFailedError extends EventsError {
  constructor(message: string) {
    super('EVENTS_CLI_FAILED', message);
  }
}
