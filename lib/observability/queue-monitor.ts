import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { COORDINATION_STORE, type CoordinationStore } from '../middleware/coordination.store.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import type { QueueThresholds } from './queue-monitor.options.js';
import { QueueBusy, QueueRecovered, type QueueMeasure } from './queue.events.js';

const LOCK_KEY = 'monitor:lock';
/** How long a crossing is remembered without a check (ms): far longer than any interval. */
const STATE_TTL_MS = 30 * 86_400_000;
const BUSY = 'busy';

const MEASURES: readonly (readonly [QueueMeasure, keyof QueueThresholds])[] = [
  ['waiting', 'maxWaiting'],
  ['lagMs', 'maxLagMs'],
  ['dead', 'maxDead'],
];

/**
 * `forRoot({ monitor })`: every `intervalMs`, the one process holding the monitor lease (in the
 * coordination store: Redis when configured, shared by every process) reads the watched queues
 * and emits `QueueBusy` when a reading goes past its threshold, `QueueRecovered` when it is back
 * under it. Whether a queue is busy is kept in the store too, so each crossing is announced once
 * even when the lease moves to another process. An alert is emitted before its state is saved:
 * a failure in between repeats it rather than losing it.
 */
@Injectable()
export class QueueMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(QueueMonitor.name);
  private readonly token = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
    @Inject(COORDINATION_STORE) private readonly store: CoordinationStore,
    private readonly bus: EventBus,
  ) {}

  onApplicationBootstrap(): void {
    const monitor = this.options.monitor;
    if (monitor === undefined) return;
    this.timer = setInterval(() => this.tick(), monitor.intervalMs);
    this.timer.unref();
    this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    // Another process takes over at its next tick rather than after the lease expires.
    await this.store.release(LOCK_KEY, this.token).catch(() => undefined);
  }

  /** One check, unless the last one is still running. Never throws. */
  private tick(): void {
    if (this.running !== undefined) return;
    this.running = this.check()
      .catch((error: unknown) =>
        this.logger.warn(`Queue monitor: check failed, next in one interval: ${String(error)}`),
      )
      .finally(() => (this.running = undefined));
  }

  private async check(): Promise<void> {
    const monitor = this.options.monitor!;
    const lease = await this.store.acquire(LOCK_KEY, this.token, monitor.intervalMs * 3);
    if (!lease.isAcquired) return;
    for (const [queue, thresholds] of monitor.queues) {
      const readings = await this.read(queue, thresholds);
      for (const [measure, option] of MEASURES) {
        const threshold = thresholds[option];
        if (threshold === undefined) continue;
        await this.compare(queue, measure, readings[measure], threshold);
      }
    }
  }

  private async read(
    queue: string,
    thresholds: QueueThresholds,
  ): Promise<Record<QueueMeasure, number>> {
    const [counts, lagMs] = await Promise.all([
      this.transport.counts(queue),
      thresholds.maxLagMs === undefined ? 0 : this.transport.oldestWaitingAge(queue),
    ]);
    return { waiting: counts.waiting, dead: counts.dead, lagMs: lagMs ?? 0 };
  }

  /** Emits a class event of the library, whatever the application's event map holds. */
  private emit(event: QueueBusy | QueueRecovered): Promise<unknown> {
    return (this.bus.emit as (event: object) => Promise<unknown>).call(this.bus, event);
  }

  private async compare(
    queue: string,
    measure: QueueMeasure,
    reading: number,
    threshold: number,
  ): Promise<void> {
    const key = `monitor:state:${queue}:${measure}`;
    const wasBusy = (await this.store.get(key)) === BUSY;
    const isBusy = reading > threshold;
    if (isBusy === wasBusy) return;
    if (isBusy) {
      this.logger.warn(`Queue "${queue}" is busy: ${measure} ${reading} > ${threshold}`);
      await this.emit(new QueueBusy(queue, measure, reading, threshold));
    } else {
      this.logger.log(`Queue "${queue}" recovered: ${measure} ${reading} <= ${threshold}`);
      await this.emit(new QueueRecovered(queue, measure, reading, threshold));
    }
    await this.store.set(key, isBusy ? BUSY : 'ok', STATE_TTL_MS);
  }
}
