import { Logger } from '@nestjs/common';
import type { EventBus } from '../bus/event-bus.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { eventClassOf } from '../event/event-name.js';
import { planOccurrences } from './occurrences.js';
import { readEvent, readRecord, type ScheduleRecord } from './schedule-record.js';
import type { ClaimedOccurrence, ScheduleStore } from './schedule-store.interface.js';
import { SCHEDULED_FOR_KEY, SCHEDULE_ID_KEY } from './schedule.types.js';
import { sharedAbortController } from '../shared-abort.js';

/** Longest sleep between claims (ms): how soon a schedule stored by another app is seen. */
export const SCHEDULE_POLL_MS = 500;
/** Most occurrences one claim takes. */
const CLAIM_LIMIT = 100;
/** Pause after a failed claim (ms), e.g. while Redis is unreachable. */
const ERROR_PAUSE_MS = 1000;

type UntypedEmit = (nameOrEvent: unknown, data?: unknown, options?: unknown) => Promise<unknown>;

/**
 * The loop of one app: claims due occurrences (by the store's clock), emits each one through the
 * bus, then commits the schedule's next due time. An occurrence's event id is derived from the
 * schedule, its revision and its due time, so an occurrence emitted twice (its app died before
 * the commit, and another app reclaimed it after the lease) stores its queued jobs once
 * (within `dedupeWindowMs`).
 */
export class ScheduleRunner {
  private readonly logger = new Logger(ScheduleRunner.name);
  private readonly stopping = sharedAbortController();
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private isWoken = false;

  constructor(
    private readonly store: ScheduleStore,
    private readonly bus: EventBus,
    private readonly registry: ListenerRegistry,
    private readonly leaseMs: number,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Claims again now (a schedule was stored here: it may be due before the loop's next claim). */
  wake(): void {
    this.isWoken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let waitMs = SCHEDULE_POLL_MS;
      try {
        this.isWoken = false;
        const batch = await this.store.claim(CLAIM_LIMIT, this.leaseMs);
        if (failures > 0) {
          this.logger.log(`Claiming due schedules again, after ${failures} failed attempt(s)`);
          failures = 0;
        }
        for (const claimed of batch.claimed) await this.fire(claimed, batch.now);
        if (batch.claimed.length === CLAIM_LIMIT) waitMs = 0;
        else if (batch.nextDue !== undefined) {
          waitMs = Math.min(SCHEDULE_POLL_MS, Math.max(1, batch.nextDue - batch.now));
        }
      } catch (error) {
        // Once per outage and then every 20 tries, not once a second while Redis is away.
        if (++failures === 1 || failures % 20 === 0) {
          this.logger.error(
            `Claiming due schedules failed (${failures}x), retrying: ${(error as Error).message}`,
          );
        }
        waitMs = ERROR_PAUSE_MS;
      }
      await this.sleep(waitMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.isWoken || this.stopping.signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wakeUp?.(), ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  /**
   * Emits what the claimed occurrence stands for, then commits. When an emit fails nothing is
   * committed: the lease runs out and an app claims the occurrence again (nothing is lost).
   */
  private async fire(claimed: ClaimedOccurrence, now: number): Promise<void> {
    let record: ScheduleRecord;
    try {
      record = readRecord(claimed.record);
    } catch (error) {
      this.logger.error(`Schedule "${claimed.id}" skipped: ${(error as Error).message}`);
      return;
    }
    const { def } = record;
    const plan = planOccurrences(
      def.rule,
      claimed.due,
      now,
      def.misfire,
      def.grace,
      claimed.isReclaim,
    );
    try {
      for (const due of plan.fire) await this.emit(claimed.id, record, due);
    } catch (error) {
      this.logger.error(
        `Schedule "${claimed.id}": emitting its occurrence failed (claimed again after ` +
          `${this.leaseMs} ms): ${(error as Error).message}`,
      );
      return;
    }
    const isCommitted = await this.store.commit(claimed.id, claimed.due, plan.next);
    if (!isCommitted) {
      this.logger.debug(`Schedule "${claimed.id}" was replaced, deleted or reclaimed meanwhile`);
    }
  }

  private emit(id: string, { def, rev }: ScheduleRecord, due: number): Promise<unknown> {
    const event = readEvent(def, (name) => this.registry.eventClass(name));
    const options = {
      id: `${id}@${due}.${rev}`,
      metadata: { ...event.metadata, [SCHEDULE_ID_KEY]: id, [SCHEDULED_FOR_KEY]: String(due) },
    };
    const emit = this.bus.emit.bind(this.bus) as UntypedEmit;
    if (def.isClass && eventClassOf(event.data) !== undefined) return emit(event.data, options);
    return emit(event.name, event.data, options);
  }
}
