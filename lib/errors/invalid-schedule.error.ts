import { describeValue, EventsError } from './events.error.js';

/**
 * A schedule (`bus.schedule`, `forRoot({ schedules })`) with a bad field: `field` names it
 * (`every`, `tz`, `cron.minute`, ...). Nothing was stored.
 */
export class InvalidScheduleError extends EventsError {
  constructor(
    readonly field: string,
    readonly received: unknown,
    expected: string,
    readonly scheduleId?: string,
  ) {
    const of = scheduleId === undefined ? '' : ` of schedule "${scheduleId}"`;
    super(
      'EVENTS_INVALID_SCHEDULE',
      `Invalid schedule field "${field}"${of}: expected ${expected}, received ${describeValue(received)}.`,
    );
  }
}
