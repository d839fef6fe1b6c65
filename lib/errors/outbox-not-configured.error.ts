import { EventsError } from './events.error.js';

/** The outbox was used (`EventOutbox.transaction`, the `transaction` emit option) without `forRoot({ outbox })`. */
export class OutboxNotConfiguredError extends EventsError {
  constructor(readonly usage: string) {
    super(
      'EVENTS_OUTBOX_NOT_CONFIGURED',
      `${usage} needs the transactional outbox: configure EventsModule.forRoot({ outbox: { connection } }).`,
    );
  }
}
