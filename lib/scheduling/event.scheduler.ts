import { randomBytes } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import type { EmitPreparer } from '../bus/emit-preparer.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { MemoryScheduleStore } from './memory-schedule.store.js';
import { firstOccurrence } from './occurrences.js';
import {
  defineSchedule,
  isSameDefinition,
  readRecord,
  writeRecord,
  type ScheduleDefinition,
} from './schedule-record.js';
import { checkSchedule } from './schedule-rule.js';
import { ScheduleRunner } from './schedule.runner.js';
import type { ScheduleStore } from './schedule-store.interface.js';
import type { ScheduleOptions, ScheduleSummary } from './schedule.types.js';

/** What `EventBus.schedule`, `unschedule` and `schedules` hand over to. */
export interface BusScheduling {
  schedule(nameOrEvent: unknown, dataOrOptions: unknown, maybeOptions: unknown): Promise<string>;
  unschedule(id: string): Promise<boolean>;
  list(): Promise<ScheduleSummary[]>;
}

/**
 * Scheduled events: stores schedules in the transport (`forRoot({ schedules })` at boot,
 * `bus.schedule` at run time) and runs the loop that emits their occurrences (see
 * {@link ScheduleRunner}). Every app runs the loop; the store hands each occurrence to one.
 */
@Injectable()
export class EventScheduler implements BusScheduling, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EventScheduler.name);
  private readonly store: ScheduleStore;
  private readonly preparer: EmitPreparer;
  private readonly runner: ScheduleRunner;

  constructor(
    bus: EventBus,
    registry: ListenerRegistry,
    @Inject(QUEUE_TRANSPORT) transport: QueueTransport,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
  ) {
    this.store = transport.schedules ?? new MemoryScheduleStore();
    this.preparer = bus.useScheduler(this);
    this.runner = new ScheduleRunner(this.store, bus, registry, options.visibilityTimeout);
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const { name, data, ...options } of this.options.schedules) {
      await this.schedule(name, data, options);
    }
    this.runner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runner.stop();
  }

  async schedule(
    nameOrEvent: unknown,
    dataOrOptions: unknown,
    maybeOptions: unknown,
  ): Promise<string> {
    const isClass = typeof nameOrEvent !== 'string';
    const options = (isClass ? dataOrOptions : maybeOptions) as ScheduleOptions | undefined;
    const checked = checkSchedule(options);
    const metadata = options?.metadata;
    const emitOptions = metadata === undefined ? undefined : { metadata };
    const prepared = await (isClass
      ? this.preparer.prepare(nameOrEvent, emitOptions, undefined)
      : this.preparer.prepare(nameOrEvent, dataOrOptions, emitOptions));
    const id = checked.id ?? `at-${randomBytes(8).toString('hex')}`;
    const def = defineSchedule(
      id,
      prepared.envelope,
      metadata,
      isClass,
      checked,
      this.options.maxPayloadBytes,
    );
    await this.save(id, def);
    return id;
  }

  /**
   * Stores the schedule unless the same definition is stored already: an app that schedules at
   * each start (or a redeploy of `forRoot({ schedules })`) keeps the running schedule's due time.
   */
  private async save(id: string, def: ScheduleDefinition): Promise<void> {
    if (isSameDefinition(await this.store.get(id), def)) return;
    const due = firstOccurrence(def.rule, await this.store.now());
    if (due === undefined) return;
    await this.store.upsert(id, writeRecord(def), due);
    this.runner.wake();
  }

  unschedule(id: string): Promise<boolean> {
    return this.store.remove(id);
  }

  async list(): Promise<ScheduleSummary[]> {
    const out: ScheduleSummary[] = [];
    for (const stored of await this.store.list()) {
      try {
        const { def } = readRecord(stored.record);
        const name = (JSON.parse(def.event) as { name: string }).name;
        out.push({
          id: stored.id,
          name,
          rule: def.rule,
          misfire: def.misfire,
          nextRunAt: new Date(stored.due),
        });
      } catch (error) {
        this.logger.warn(`Schedule "${stored.id}" is not listed: ${(error as Error).message}`);
      }
    }
    return out.sort((a, b) => a.nextRunAt.getTime() - b.nextRunAt.getTime());
  }
}
