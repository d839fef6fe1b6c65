import { EventsError } from './events.error.js';

/** A feature was used whose optional peer package is not installed. */
export class MissingPeerDependencyError extends EventsError {
  constructor(
    readonly feature: string,
    readonly packageName: string,
    options?: { cause?: unknown },
  ) {
    super(
      'EVENTS_MISSING_PEER_DEPENDENCY',
      `${feature} needs the optional peer dependency "${packageName}": npm install ${packageName}.`,
      options,
    );
  }
}
