import { EventsError } from './events.error.js';

/** Two listeners claim the same id; queued jobs find their listener by id, so ids must be unique. */
export class DuplicateListenerError extends EventsError {
  constructor(readonly listenerId: string) {
    super(
      'EVENTS_DUPLICATE_LISTENER',
      `Two listeners have the id "${listenerId}". Listener ids are "Class.method" unless given ` +
        `explicitly; give one of them another id with @OnEvent(pattern, { id }).`,
    );
  }
}
