import { InvalidScheduleError } from '../errors/invalid-schedule.error.js';
import { assertEventName } from '../event/event-name.js';
import { checkSchedule } from './schedule-rule.js';
import type { ScheduleDeclaration } from './schedule.types.js';

/**
 * `forRoot({ schedules })`, checked at boot: each one needs an `id` (booting again must find
 * the same schedule, not add one), a valid event name and valid options; ids are unique.
 *
 * @throws InvalidScheduleError (or InvalidEventNameError) naming the field
 */
export function resolveSchedules(value: unknown): readonly ScheduleDeclaration[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new InvalidScheduleError('schedules', value, 'an array of schedule declarations');
  }
  const ids = new Set<string>();
  return value.map((declaration: ScheduleDeclaration, i) => {
    const checked = checkSchedule(declaration, ['name', 'data']);
    if (checked.id === undefined) {
      throw new InvalidScheduleError(
        `schedules[${i}].id`,
        undefined,
        'an id (required in forRoot)',
      );
    }
    if (ids.has(checked.id)) {
      throw new InvalidScheduleError(
        `schedules[${i}].id`,
        checked.id,
        'an id no other schedule has',
      );
    }
    ids.add(checked.id);
    assertEventName(declaration.name);
    return { ...declaration };
  });
}
