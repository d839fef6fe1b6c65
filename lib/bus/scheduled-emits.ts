import type { BusScheduling } from '../scheduling/event.scheduler.js';
import type { ScheduleSummary } from '../scheduling/schedule.types.js';
import {
  holds,
  type ConditionalEmit,
  type EmitCondition,
  type ScheduleEmit,
} from './emit-condition.js';
import type { EmitPreparer } from './emit-preparer.js';

type UntypedEmit = (...args: unknown[]) => Promise<unknown>;

/**
 * The emits of `EventBus` that end in `emit` or in the scheduler: conditional emits, and
 * scheduled events (a base class, so `event-bus.ts` keeps to the emit itself).
 */
export abstract class ScheduledEmits {
  private scheduler: BusScheduling | undefined;
  protected abstract readonly preparer: EmitPreparer;
  abstract emit(...args: never[]): Promise<unknown>;

  /**
   * Emits when `condition` (a boolean, or a sync or async function) holds; resolves to whether it
   * emitted. `emitUnless` emits when it does not.
   *
   * @example
   * await bus.emitIf(order.total > 1000, 'order.large', { id: order.id });
   */
  readonly emitIf: ConditionalEmit = async (condition: EmitCondition, ...args: unknown[]) => {
    if (!(await holds(condition))) return false;
    await (this.emit as UntypedEmit)(...args);
    return true;
  };

  /** Emits unless `condition` holds; resolves to whether it emitted (see `emitIf`). */
  readonly emitUnless: ConditionalEmit = async (condition: EmitCondition, ...args: unknown[]) => {
    if (await holds(condition)) return false;
    await (this.emit as UntypedEmit)(...args);
    return true;
  };

  /**
   * Schedules an event (`at`, `cron` or `every`): stored in the transport, each occurrence
   * emitted once across all apps, never before its time (by the transport's clock). Scheduling an
   * id again replaces its rule. Resolves to the schedule's id. Bad options reject with
   * `InvalidScheduleError` naming the field, and nothing is stored.
   *
   * @example
   * await bus.schedule('report.daily', { kind: 'sales' }, { id: 'daily-report', cron: '0 6 * * *', tz: 'Europe/Paris' });
   */
  readonly schedule: ScheduleEmit = async (nameOrEvent: unknown, ...rest: unknown[]) =>
    this.scheduling.schedule(nameOrEvent, rest[0], rest[1]);

  /** Deletes a schedule (a pending `at` too); resolves to whether there was one. */
  unschedule(id: string): Promise<boolean> {
    return this.scheduling.unschedule(id);
  }

  /** Every schedule with its rule and next run, soonest first. */
  schedules(): Promise<ScheduleSummary[]> {
    return this.scheduling.list();
  }

  private get scheduling(): BusScheduling {
    if (this.scheduler === undefined) throw new Error('EventBus: no EventScheduler in this app');
    return this.scheduler;
  }

  /** @internal Emits carry the current version of their event (see `EventVersions`). */
  useVersions(versionOf: (name: string) => number): void {
    this.preparer.versionOf = versionOf;
  }

  /** @internal The scheduler (`lib/scheduling/`) attaches itself and checks emits as `emit` does. */
  useScheduler(scheduler: BusScheduling): EmitPreparer {
    this.scheduler = scheduler;
    return this.preparer;
  }
}
