import { CronExpressionParser } from 'cron-parser';
import { InvalidScheduleError } from '../errors/invalid-schedule.error.js';
import type { MisfirePolicy, ScheduleOptions, ScheduleRule } from './schedule.types.js';

/** Smallest `every` (ms): below it the transport's clock checks cost more than they keep. */
export const MIN_EVERY_MS = 1000;
/** Default `misfireGraceMs`. */
export const DEFAULT_MISFIRE_GRACE_MS = 1000;
const ID = /^[A-Za-z0-9_\-:.]{1,150}$/;
const OPTION_KEYS = new Set([
  'id',
  'at',
  'cron',
  'every',
  'tz',
  'misfire',
  'misfireGraceMs',
  'metadata',
]);
const FIVE = ['minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'];
const SIX = ['second', ...FIVE];

/** A schedule's options, checked. */
export interface CheckedSchedule {
  readonly id: string | undefined;
  readonly rule: ScheduleRule;
  readonly misfire: MisfirePolicy;
  readonly misfireGraceMs: number;
}

/**
 * Checks the options of one schedule (every field, before anything is stored).
 *
 * @param extraKeys keys the caller owns (`name`, `data` of a boot declaration)
 * @throws InvalidScheduleError naming the field
 */
export function checkSchedule(
  options: unknown,
  extraKeys: readonly string[] = [],
): CheckedSchedule {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidScheduleError('options', options, 'an object with one of at, cron or every');
  }
  const o = options as ScheduleOptions;
  const id = o.id;
  if (id !== undefined && (typeof id !== 'string' || !ID.test(id))) {
    throw new InvalidScheduleError(
      'id',
      id,
      'letters, digits, "_", "-", ":" or "." (1 to 150 characters)',
    );
  }
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key) && !extraKeys.includes(key)) {
      throw new InvalidScheduleError(key, (o as Record<string, unknown>)[key], 'no such field', id);
    }
  }
  const given = (['at', 'cron', 'every'] as const).filter((key) => o[key] !== undefined);
  if (given.length !== 1) {
    throw new InvalidScheduleError(
      given.join(', ') || 'at | cron | every',
      given.length === 0 ? undefined : given,
      'exactly one of at, cron and every',
      id,
    );
  }
  if (given[0] !== 'at' && id === undefined) {
    throw new InvalidScheduleError('id', id, `an id (required with ${given[0]})`);
  }
  if (o.tz !== undefined && given[0] !== 'cron') {
    throw new InvalidScheduleError('tz', o.tz, 'no time zone (tz applies to cron only)', id);
  }
  const misfire = o.misfire ?? 'once';
  if (misfire !== 'once' && misfire !== 'skip') {
    throw new InvalidScheduleError('misfire', misfire, '"once" or "skip"', id);
  }
  const misfireGraceMs = o.misfireGraceMs ?? DEFAULT_MISFIRE_GRACE_MS;
  if (!Number.isSafeInteger(misfireGraceMs) || misfireGraceMs < 0) {
    throw new InvalidScheduleError('misfireGraceMs', misfireGraceMs, 'an integer >= 0', id);
  }
  return { id, rule: checkRule(o, given[0], id), misfire, misfireGraceMs };
}

function checkRule(o: ScheduleOptions, kind: 'at' | 'cron' | 'every', id?: string): ScheduleRule {
  if (kind === 'at') {
    const at = o.at instanceof Date ? o.at.getTime() : o.at;
    if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) {
      throw new InvalidScheduleError('at', o.at, 'a valid Date or ms since the epoch', id);
    }
    return { kind, at };
  }
  if (kind === 'every') {
    if (typeof o.every !== 'number' || !Number.isSafeInteger(o.every) || o.every < MIN_EVERY_MS) {
      throw new InvalidScheduleError('every', o.every, `an integer >= ${MIN_EVERY_MS} (ms)`, id);
    }
    return { kind, every: o.every };
  }
  const tz = o.tz ?? 'UTC';
  if (typeof tz !== 'string' || !isTimeZone(tz)) {
    throw new InvalidScheduleError('tz', tz, 'an IANA time zone such as "Europe/Paris"', id);
  }
  return { kind, cron: checkCron(o.cron, tz, id), tz };
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A cron expression of five or six fields that the parser takes, or an error naming the field. */
function checkCron(cron: unknown, tz: string, id?: string): string {
  const fields = typeof cron === 'string' ? cron.trim().split(/\s+/) : [];
  if (typeof cron !== 'string' || (fields.length !== 5 && fields.length !== 6)) {
    throw new InvalidScheduleError('cron', cron, 'a cron expression of 5 or 6 fields', id);
  }
  const names = fields.length === 6 ? SIX : FIVE;
  // Each field alone (the others `*`), so the error names the one the parser refuses.
  fields.forEach((field, i) => {
    const alone = fields.map((_, j) => (j === i ? field : '*')).join(' ');
    try {
      CronExpressionParser.parse(alone, { tz, currentDate: 0 });
    } catch (error) {
      throw new InvalidScheduleError(
        `cron.${names[i]}`,
        field,
        `a valid ${names[i]} field (${(error as Error).message})`,
        id,
      );
    }
  });
  try {
    // A combination no date has (February 30th) fails only when asked for a date.
    CronExpressionParser.parse(cron, { tz, currentDate: 0 }).next();
  } catch (error) {
    throw new InvalidScheduleError(
      'cron',
      cron,
      `a cron expression that fires (${(error as Error).message})`,
      id,
    );
  }
  return fields.join(' ');
}
