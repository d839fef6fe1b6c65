/** What becomes of the occurrences of a schedule that no app emitted in time. */
export type MisfirePolicy = 'skip' | 'once';

/** Options of `bus.schedule`: exactly one of `at`, `cron` and `every`. */
export interface ScheduleOptions {
  /**
   * The schedule's id: scheduling the same id again replaces the rule (an upsert, never a
   * duplicate). Letters, digits and `_ - : .`, at most 150 characters. Required with `cron` and
   * `every`. @default a new id (with `at`)
   */
  id?: string;
  /** Fire once at this time (a `Date` or ms since the epoch); a time in the past fires at once. */
  at?: Date | number;
  /** Fire on this cron expression: five fields, or six with seconds first. */
  cron?: string;
  /** Fire every this many ms (at least 1000), the first time `every` ms after scheduling. */
  every?: number;
  /** The IANA time zone of a `cron` rule. @default 'UTC' */
  tz?: string;
  /**
   * Occurrences emitted more than `misfireGraceMs` late (every app was down or stalled): `once`
   * emits them as one (the last of them), `skip` drops them. @default 'once'
   */
  misfire?: MisfirePolicy;
  /** How late (ms) an occurrence may be emitted before it counts as missed. @default 1000 */
  misfireGraceMs?: number;
  /** Extra string metadata of every occurrence's envelope. @default {} */
  metadata?: Record<string, string>;
}

/** A schedule declared at boot: `forRoot({ schedules: [...] })`. */
export interface ScheduleDeclaration extends ScheduleOptions {
  /** The event name. */
  name: string;
  /** The payload of every occurrence. @default undefined */
  data?: unknown;
}

/** A checked rule, as stored. */
export type ScheduleRule =
  | { readonly kind: 'at'; readonly at: number }
  | { readonly kind: 'cron'; readonly cron: string; readonly tz: string }
  | { readonly kind: 'every'; readonly every: number };

/** What `bus.schedules()` reports of each schedule. */
export interface ScheduleSummary {
  readonly id: string;
  /** The event name. */
  readonly name: string;
  readonly rule: ScheduleRule;
  readonly misfire: MisfirePolicy;
  /** When the next occurrence is due (by the transport's clock). */
  readonly nextRunAt: Date;
}

/** Metadata keys every occurrence carries. */
export const SCHEDULE_ID_KEY = 'scheduleId';
/** Metadata key: the occurrence's due time, ms since the epoch (a decimal string). */
export const SCHEDULED_FOR_KEY = 'scheduledFor';
