import { Inject, Injectable } from '@nestjs/common';
import { QUEUE_TRANSPORT } from '../events.constants.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { Worker } from '../queue/worker.js';
import { EventMetrics, type QueueReading } from './event-metrics.js';

/** Thresholds of `EventsHealthIndicator.isHealthy` (every queue read is checked against them). */
export interface EventsHealthOptions {
  /** Down when a queue has more jobs than this waiting. @default undefined (not checked) */
  maxWaiting?: number;
  /** Down when a queue's oldest waiting job has waited longer than this (ms). @default undefined */
  maxLagMs?: number;
  /** Down when the transport has not answered within this (ms). @default 3000 */
  timeoutMs?: number;
}

/** What `isHealthy` reports under its key (the shape `@nestjs/terminus` reads). */
export interface EventsHealthDetails {
  readonly status: 'up' | 'down';
  /** `memory` or `redis`. */
  readonly transport: string;
  /** This process's worker: `running`, `stopped`, `off` (`worker: false`) or `idle`. */
  readonly worker: string;
  /** Per queue: jobs by state and the oldest waiting job's age (absent when the transport failed). */
  readonly queues?: Readonly<Record<string, QueueReading>>;
  /** Why it is down. */
  readonly reasons?: readonly string[];
}

/**
 * A health indicator for `@nestjs/terminus` (or any health endpoint): down when the transport
 * does not answer, this process's worker has stopped, or a queue passes a threshold; details per
 * queue. It returns terminus's result shape without importing terminus.
 *
 * @example
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.events.isHealthy('events', { maxLagMs: 60000 })]); }
 */
@Injectable()
export class EventsHealthIndicator {
  constructor(
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
    private readonly metrics: EventMetrics,
    private readonly worker: Worker,
  ) {}

  /**
   * `{ [key]: { status: 'up' | 'down', transport, worker, queues, reasons? } }`.
   * @throws InvalidOptionError for a bad threshold.
   */
  async isHealthy<const K extends string = 'events'>(
    key: K = 'events' as K,
    options: EventsHealthOptions = {},
  ): Promise<Record<K, EventsHealthDetails>> {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('isHealthy options', options, '{ maxWaiting?, maxLagMs? }');
    }
    const { maxWaiting, maxLagMs, timeoutMs = 3000 } = options;
    if (maxWaiting !== undefined) assertInteger('maxWaiting', maxWaiting, 0);
    if (maxLagMs !== undefined) assertInteger('maxLagMs', maxLagMs, 0);
    assertInteger('timeoutMs', timeoutMs, 1);
    const reasons: string[] = [];
    const worker = this.worker.state;
    if (worker === 'stopped') reasons.push('the worker of this process has stopped');
    let queues: Record<string, QueueReading> | undefined;
    try {
      queues = await this.read(timeoutMs);
    } catch (error) {
      reasons.push(
        `the ${this.transport.kind} transport did not answer: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    for (const [queue, r] of Object.entries(queues ?? {})) {
      if (maxWaiting !== undefined && r.waiting > maxWaiting) {
        reasons.push(`queue "${queue}": ${r.waiting} jobs waiting > maxWaiting ${maxWaiting}`);
      }
      if (maxLagMs !== undefined && r.oldestWaitingMs > maxLagMs) {
        reasons.push(
          `queue "${queue}": oldest job waiting ${r.oldestWaitingMs} ms > maxLagMs ${maxLagMs}`,
        );
      }
    }
    const details: EventsHealthDetails = {
      status: reasons.length === 0 ? 'up' : 'down',
      transport: this.transport.kind,
      worker,
      ...(queues === undefined ? {} : { queues }),
      ...(reasons.length === 0 ? {} : { reasons }),
    };
    return { [key]: details } as Record<K, EventsHealthDetails>;
  }

  private read(timeoutMs: number): Promise<Record<string, QueueReading>> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.metrics.queues(), late]).finally(() => clearTimeout(timer));
  }
}
