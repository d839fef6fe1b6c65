import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { EventBus } from '../bus/event-bus.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger, assertName } from '../option-assertions.js';
import { HISTORY_MINUTES, type QueueMinute } from '../queue/queue-history.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { QueueProducer } from '../queue/queue.producer.js';
import { Worker } from '../queue/worker.js';
import { timedListener } from './in-process-timing.js';
import { MEASURE_RECORDER, MEASURED_CLASS_METADATA } from './measure.decorator.js';
import type { MetricsSnapshot } from './metrics-snapshot.js';
import { MetricsStore } from './metrics-store.js';
import { QueuedAttemptsObserver } from './queued-attempts.observer.js';

/** One queue as `EventMetrics.queues()` reads it from the transport (shared by every process). */
export interface QueueReading {
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
  readonly dead: number;
  /** How long (ms) the oldest waiting job has been ready to run; 0 when none waits. */
  readonly oldestWaitingMs: number;
}

/**
 * Counters and timings of this process's events: emits per event name; attempts of queued
 * listeners (and of in-process ones with `metrics: { inProcess: true }`) per event, listener and
 * queue, with handler durations (p50/p95/p99), emit-to-start waits and last-minute throughput;
 * `@Measure` methods. Queue depths and per-minute history come from the transport, shared by
 * every process.
 *
 * @example
 * const snapshot = metrics.snapshot();
 * snapshot.listeners['OrderListeners.sendConfirmation'].avgLatencyMs;
 */
@Injectable()
export class EventMetrics implements OnModuleInit, OnApplicationShutdown {
  /** @internal What is counted (the Prometheus export reads it at scrape time). */
  readonly store: MetricsStore;

  constructor(
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
    private readonly registry: ListenerRegistry,
    private readonly worker: Worker,
    private readonly bus: EventBus,
    private readonly discovery: DiscoveryService,
    producer: QueueProducer,
  ) {
    const metrics = options.metrics;
    this.store = new MetricsStore(metrics.maxEventLabels);
    if (!metrics.isEnabled) return;
    // Set here, before any init hook: the explorer registers listeners in its `onModuleInit`.
    if (metrics.inProcess) {
      registry.wrap = (definition) =>
        definition.queue === undefined ? timedListener(definition, this.store) : definition;
    }
    worker.observeAttempts(new QueuedAttemptsObserver(this.store));
    producer.onSkip = (_event, listener) => this.store.skipped(listener.id, listener.queue!.queue);
  }

  onModuleInit(): void {
    if (!this.options.metrics.isEnabled) return;
    this.bus.observeEmits((event) => this.store.emitted(event.name));
    const record = this.store.measured.bind(this.store);
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<symbol, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      if (Reflect.getMetadata(MEASURED_CLASS_METADATA, instance.constructor) !== true) continue;
      Object.defineProperty(instance, MEASURE_RECORDER, { value: record, configurable: true });
    }
  }

  onApplicationShutdown(): void {
    this.bus.observeEmits(undefined);
  }

  /** Everything counted by this process since it started (or since `reset()`), as plain objects. */
  snapshot(): MetricsSnapshot {
    return this.store.snapshot();
  }

  /** Forgets every counter and timing of this process (tests). Transport counts are kept. */
  reset(): void {
    this.store.reset();
  }

  /**
   * Each queue's jobs by state and the age of its oldest waiting job, read from the transport
   * (every process's jobs): the queues that hold or held jobs, and those of this app's listeners.
   */
  async queues(): Promise<Record<string, QueueReading>> {
    const names = new Set(await this.transport.queues());
    for (const listener of this.registry.all()) if (listener.queue) names.add(listener.queue.queue);
    const readings = await Promise.all(
      [...names].sort().map(async (queue) => {
        const [counts, oldest] = await Promise.all([
          this.transport.counts(queue),
          this.transport.oldestWaitingAge(queue),
        ]);
        const { waiting, delayed, active, dead } = counts;
        return [queue, { waiting, delayed, active, dead, oldestWaitingMs: oldest ?? 0 }] as const;
      }),
    );
    return Object.fromEntries(readings);
  }

  /**
   * A queue's completed and failed attempts per minute (every worker of the queue), oldest
   * first, for the last `minutes` (at most 1440: the transport keeps 24 hours).
   *
   * @throws InvalidOptionError for a bad queue name or `minutes` outside 1..1440.
   */
  history(queue: string, options: { minutes?: number } = {}): Promise<QueueMinute[]> {
    assertName('queue', queue);
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('history options', options, 'an object such as { minutes: 60 }');
    }
    const minutes = options.minutes ?? 60;
    assertInteger('minutes', minutes, 1, HISTORY_MINUTES);
    return this.transport.history(queue, minutes);
  }
}
