import { EventsError } from './events.error.js';

/** Why the facade cannot answer: nothing is faked, or no application is there to fake. */
export type EventFacadeUsageReason = 'not-faked' | 'no-application';

const CODES: Record<EventFacadeUsageReason, string> = {
  'not-faked': 'EVENTS_FACADE_NOT_FAKED',
  'no-application': 'EVENTS_FACADE_NO_APPLICATION',
};

/**
 * `EventFacade` used out of order: an assertion before `EventFacade.fake()` (or after
 * `restore()`), or with no running application that imports `EventsModule`.
 * `code` is `EVENTS_FACADE_NOT_FAKED` or `EVENTS_FACADE_NO_APPLICATION`.
 */
export class EventFacadeUsageError extends EventsError {
  constructor(
    readonly reason: EventFacadeUsageReason,
    message: string,
  ) {
    super(CODES[reason], message);
  }
}
