import { CronExpressionParser } from 'cron-parser';
import type { MisfirePolicy, ScheduleRule } from './schedule.types.js';

/** Most cron occurrences walked one by one before jumping (a long outage of a frequent rule). */
const MAX_WALK = 1000;

/** The first occurrence of `rule` strictly after `afterMs`, or undefined when there is none. */
export function nextOccurrence(rule: ScheduleRule, afterMs: number): number | undefined {
  if (rule.kind === 'at') return rule.at > afterMs ? rule.at : undefined;
  if (rule.kind === 'every') return afterMs + rule.every;
  return cron(rule, afterMs).next().getTime();
}

/**
 * The first occurrence of a schedule created at `nowMs`: `at` as given (fires at once when past),
 * `every` one period later, `cron` its next time.
 */
export function firstOccurrence(rule: ScheduleRule, nowMs: number): number | undefined {
  return rule.kind === 'at' ? rule.at : nextOccurrence(rule, nowMs);
}

/** What to emit for a claimed occurrence, and when the schedule is due next. */
export interface OccurrencePlan {
  /** Due times (ms) to emit, oldest first. */
  readonly fire: readonly number[];
  /** The next due time, after `now`; undefined when the schedule is done. */
  readonly next: number | undefined;
}

/**
 * Decides what a claimed occurrence becomes at `now` (the transport's clock). Every occurrence
 * from `due` up to `now` is due; the last of them is on time when at most `graceMs` late, and the
 * others are missed (every app was down or stalled past them): `once` emits the missed ones as
 * one (the latest missed), `skip` drops them. `isReclaim`: `due` was claimed before by an app that
 * did not finish (it may have emitted it): it is emitted again, whatever its lateness.
 */
export function planOccurrences(
  rule: ScheduleRule,
  due: number,
  now: number,
  misfire: MisfirePolicy,
  graceMs: number,
  isReclaim: boolean,
): OccurrencePlan {
  const fire: number[] = [];
  let first: number | undefined = due;
  if (isReclaim) {
    fire.push(due);
    first = nextOccurrence(rule, due);
  }
  if (first === undefined || first > now) return { fire, next: first };
  const { last, previous } = lastUpTo(rule, first, now);
  if (now - last <= graceMs) {
    if (previous !== undefined && misfire === 'once') fire.push(previous);
    fire.push(last);
  } else if (misfire === 'once') {
    fire.push(last);
  }
  return { fire, next: nextOccurrence(rule, last) };
}

/** The last occurrence at or before `now` (from `first`, itself due), and the one before it. */
function lastUpTo(
  rule: ScheduleRule,
  first: number,
  now: number,
): { last: number; previous: number | undefined } {
  if (rule.kind === 'at') return { last: first, previous: undefined };
  if (rule.kind === 'every') {
    const last = first + Math.floor((now - first) / rule.every) * rule.every;
    return { last, previous: last > first ? last - rule.every : undefined };
  }
  const walk = cron(rule, first);
  let previous: number | undefined;
  let last = first;
  for (let i = 0; i < MAX_WALK; i++) {
    const next = walk.next().getTime();
    if (next > now) return { last, previous };
    previous = last;
    last = next;
  }
  const back = cron(rule, now + 1);
  return { last: back.prev().getTime(), previous: back.prev().getTime() };
}

function cron(rule: { cron: string; tz: string }, fromMs: number) {
  return CronExpressionParser.parse(rule.cron, { tz: rule.tz, currentDate: fromMs });
}
