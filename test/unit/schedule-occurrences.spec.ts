import { describe, expect, it } from 'vitest';
import { InvalidScheduleError } from '../../lib/errors/invalid-schedule.error.js';
import { nextOccurrence, planOccurrences } from '../../lib/scheduling/occurrences.js';
import { checkSchedule } from '../../lib/scheduling/schedule-rule.js';
import type { ScheduleRule } from '../../lib/scheduling/schedule.types.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const cron = (expression: string, tz = 'UTC'): ScheduleRule =>
  checkSchedule({ id: 'c', cron: expression, tz }).rule;

describe('nextOccurrence', () => {
  it('steps a six-field cron by seconds, strictly after the given time', () => {
    const rule = cron('*/5 * * * * *');
    expect(iso(nextOccurrence(rule, t('2026-03-01T10:00:00.000Z')))).toBe(
      '2026-03-01T10:00:05.000Z',
    );
    expect(iso(nextOccurrence(rule, t('2026-03-01T10:00:03.250Z')))).toBe(
      '2026-03-01T10:00:05.000Z',
    );
  });

  it('reads a five-field cron in its time zone', () => {
    const after = t('2026-01-15T12:00:00Z');
    expect(iso(nextOccurrence(cron('0 9 * * *', 'UTC'), after))).toBe('2026-01-16T09:00:00.000Z');
    expect(iso(nextOccurrence(cron('0 9 * * *', 'Europe/Paris'), after))).toBe(
      '2026-01-16T08:00:00.000Z',
    );
    expect(iso(nextOccurrence(cron('0 9 * * *', 'America/New_York'), after))).toBe(
      '2026-01-15T14:00:00.000Z',
    );
    expect(iso(nextOccurrence(cron('0 9 * * *', 'Asia/Kolkata'), after))).toBe(
      '2026-01-16T03:30:00.000Z',
    );
  });

  it('keeps local wall time across a DST change (Paris, spring forward on 2026-03-29)', () => {
    const rule = cron('0 9 * * *', 'Europe/Paris');
    const before = nextOccurrence(rule, t('2026-03-28T00:00:00Z'));
    const after = nextOccurrence(rule, before ?? 0);
    expect(iso(before)).toBe('2026-03-28T08:00:00.000Z'); // 09:00 CET
    expect(iso(after)).toBe('2026-03-29T07:00:00.000Z'); // 09:00 CEST: 23 hours later
  });

  it('keeps local wall time when the clocks go back (New York, 2026-11-01)', () => {
    const rule = cron('30 8 * * *', 'America/New_York');
    const first = nextOccurrence(rule, t('2026-10-31T00:00:00Z'));
    expect(iso(first)).toBe('2026-10-31T12:30:00.000Z'); // EDT
    expect(iso(nextOccurrence(rule, first ?? 0))).toBe('2026-11-01T13:30:00.000Z'); // EST: 25 hours
  });

  it('repeats `every` from the last occurrence, and fires `at` once', () => {
    expect(nextOccurrence({ kind: 'every', every: 1000 }, 5000)).toBe(6000);
    expect(nextOccurrence({ kind: 'at', at: 9000 }, 5000)).toBe(9000);
    expect(nextOccurrence({ kind: 'at', at: 9000 }, 9000)).toBeUndefined();
  });
});

describe('planOccurrences (misfire)', () => {
  const every: ScheduleRule = { kind: 'every', every: 1000 };

  it('emits an occurrence claimed in time and moves to the next one', () => {
    expect(planOccurrences(every, 10_000, 10_050, 'skip', 1000, false)).toEqual({
      fire: [10_000],
      next: 11_000,
    });
    expect(planOccurrences(every, 10_000, 10_050, 'once', 1000, false)).toEqual({
      fire: [10_000],
      next: 11_000,
    });
  });

  it('once: occurrences missed while every app was down are emitted as one (the last missed)', () => {
    // Down from 10 s to 15.2 s: 10..14 missed, 15 on time.
    expect(planOccurrences(every, 10_000, 15_200, 'once', 300, false)).toEqual({
      fire: [14_000, 15_000],
      next: 16_000,
    });
    // Down past the grace of the last one too: one emit for all of them.
    expect(planOccurrences(every, 10_000, 15_500, 'once', 100, false)).toEqual({
      fire: [15_000],
      next: 16_000,
    });
  });

  it('skip: missed occurrences are dropped, the one on time is emitted', () => {
    expect(planOccurrences(every, 10_000, 15_050, 'skip', 100, false)).toEqual({
      fire: [15_000],
      next: 16_000,
    });
    expect(planOccurrences(every, 10_000, 15_500, 'skip', 100, false)).toEqual({
      fire: [],
      next: 16_000,
    });
    expect(planOccurrences({ kind: 'at', at: 10_000 }, 10_000, 60_000, 'skip', 100, false)).toEqual(
      { fire: [], next: undefined },
    );
  });

  it('emits a reclaimed occurrence again whatever its lateness (its app may not have emitted it)', () => {
    expect(planOccurrences(every, 10_000, 40_500, 'skip', 100, true)).toEqual({
      fire: [10_000],
      next: 41_000,
    });
    expect(planOccurrences({ kind: 'at', at: 10_000 }, 10_000, 40_000, 'skip', 100, true)).toEqual({
      fire: [10_000],
      next: undefined,
    });
  });

  it('walks a cron rule over an outage (and jumps over a very long one)', () => {
    const rule = cron('*/10 * * * * *');
    const from = t('2026-03-01T10:00:00Z');
    const plan = planOccurrences(rule, from, from + 35_000, 'once', 1000, false);
    expect(plan.fire.map(iso)).toEqual(['2026-03-01T10:00:30.000Z']);
    expect(iso(plan.next)).toBe('2026-03-01T10:00:40.000Z');
    const week = planOccurrences(rule, from, from + 7 * 86_400_000 + 500, 'once', 1000, false);
    expect(week.fire.map(iso)).toEqual(['2026-03-08T09:59:50.000Z', '2026-03-08T10:00:00.000Z']);
    expect(iso(week.next)).toBe('2026-03-08T10:00:10.000Z');
  });
});

describe('checkSchedule', () => {
  const field = (options: unknown): string | undefined => {
    try {
      checkSchedule(options);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidScheduleError);
      return (error as InvalidScheduleError).field;
    }
  };

  it('names the cron field it refuses', () => {
    expect(field({ id: 'a', cron: '0 61 * * *' })).toBe('cron.hour');
    expect(field({ id: 'a', cron: '99 * * * *' })).toBe('cron.minute');
    expect(field({ id: 'a', cron: '0 0 * * * 9' })).toBe('cron.dayOfWeek');
    expect(field({ id: 'a', cron: '75 0 * * * *' })).toBe('cron.second');
    expect(field({ id: 'a', cron: '0 0 1 13 *' })).toBe('cron.month');
    expect(field({ id: 'a', cron: '* * * *' })).toBe('cron');
    expect(field({ id: 'a', cron: '0 0 30 2 *' })).toBe('cron');
  });

  it('refuses an unknown tz, a bad at, a short every, a missing id, two rules', () => {
    expect(field({ id: 'a', cron: '* * * * *', tz: 'Mars/Olympus' })).toBe('tz');
    expect(field({ at: new Date('nope') })).toBe('at');
    expect(field({ at: 'tomorrow' })).toBe('at');
    expect(field({ id: 'a', every: 999 })).toBe('every');
    expect(field({ id: 'a', every: 1500.5 })).toBe('every');
    expect(field({ every: 1000 })).toBe('id');
    expect(field({ id: 'a', every: 1000, at: 5 })).toBe('at, every');
    expect(field({ id: 'a' })).toBe('at | cron | every');
    expect(field({ id: 'a b', every: 1000 })).toBe('id');
    expect(field({ id: 'a', every: 1000, misfire: 'later' })).toBe('misfire');
    expect(field({ id: 'a', every: 1000, tz: 'UTC' })).toBe('tz');
    expect(field({ id: 'a', every: 1000, evry: 5 })).toBe('evry');
    expect(field({ at: 5, id: 'x' })).toBeUndefined();
  });
});
