import { EventsError } from './events.error.js';

/** One option on which an `EventsServer` and the `EventsModule` of its app disagree. */
export interface EventsServerDifference {
  /** The option, as named on the server (`EventsServer.prefix`). */
  readonly option: string;
  /** The server's value, rendered for the message (never a password). */
  readonly server: string;
  /** The module's value, rendered the same way. */
  readonly module: string;
}

/**
 * An `EventsServer` was given options that the `EventsModule.forRoot` of its app sets otherwise
 * (another Redis, another prefix...): the server would work on other queues than the module
 * writes to. Give both the same values, or leave them out of the server.
 */
export class EventsServerMismatchError extends EventsError {
  constructor(readonly differences: readonly EventsServerDifference[]) {
    super(
      'EVENTS_SERVER_MISMATCH',
      `EventsServer options disagree with the EventsModule.forRoot of its app: ${differences
        .map((d) => `${d.option} is ${d.server} on the server but ${d.module} in the module`)
        .join(
          '; ',
        )}. Give both the same value, or leave it out of the EventsServer (it then comes from the module).`,
    );
  }
}
