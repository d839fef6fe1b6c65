import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import type { SchemaLookup } from '../event/event-schema.js';
import { ReleaseJobSignal } from '../middleware/release-job.signal.js';
import type { AttemptObserver } from './attempt-outcome.js';
import { InFlight } from './in-flight.js';
import { InFlightSweeps } from './in-flight-sweeps.js';
import { JobRunner, LOST_ATTEMPTS_ALLOWED } from './job-runner.js';
import { JobSettler } from './job-settler.js';
import { drainWithin } from './worker-drain.js';
import { QueueLoop } from './queue-loop.js';
import { installShutdownSentinel } from './shutdown-sentinel.js';
import type { QueueTransport } from './queue-transport.interface.js';
import type { ReservedJob } from './queue-job.js';
import type { AttemptGate } from './flow/attempt-gate.js';
import { BatchCollector } from './flow/batch-collector.js';
import { BatchRunner } from './flow/batch-runner.js';
import type { EventReader } from '../scheduling/event-versions.js';
import { EVENT_TRACER, type EventTracer } from '../tracing/event-tracer.js';
import { sharedAbortController } from '../shared-abort.js';

/** Longest a job waits in read-ahead for a slot (ms), at most half the visibility timeout. */
const READ_AHEAD_MAX_WAIT_MS = 2000;

export { LOST_ATTEMPTS_ALLOWED };
// What `context.release(delayMs)` throws in a middleware: put the job back without counting the attempt.
export { ReleaseJobSignal };

/**
 * What an `EventsServer` asks the worker of its process to work on (see
 * `lib/microservices/events-server.link.ts`); unset fields fall back to `forRoot({ worker })`.
 */
export interface WorkerPlan {
  /** The queues to work on; undefined: every queue of this app's queued listeners. */
  readonly queues?: readonly string[];
  readonly concurrency?: number | Readonly<Record<string, number>>;
}

/**
 * Runs queued listeners: one loop per queue (`QueueLoop`) reserves jobs up to its concurrency,
 * each attempt runs in a `JobRunner`, `InFlightSweeps` heartbeats what it holds; this class owns
 * the lifecycle (start, and shutdown through `drainWithin`).
 */
@Injectable()
export class Worker
  implements
    OnModuleInit,
    OnApplicationBootstrap,
    OnModuleDestroy,
    BeforeApplicationShutdown,
    OnApplicationShutdown
{
  private readonly logger = new Logger(Worker.name);
  private readonly stopping = sharedAbortController();
  private readonly inFlight = new InFlight();
  /** Fires when shutdown stops retrying settles that fail (their jobs stay pending). */
  private readonly abandoning = sharedAbortController();
  private readonly settler: JobSettler;
  private readonly runner: JobRunner;
  private readonly loops: Promise<void>[] = [];
  private readonly sweeps: InFlightSweeps;
  private draining: Promise<void> | undefined;
  private isStarted = false;
  private isClosed = false;
  /** Set when an EventsServer runs this app: the server starts the worker, with its plan. */
  private isServerOwned = false;
  private plan: WorkerPlan = {};
  /**
   * @internal Set where `EventsClient` events are served (`lib/microservices/inbound.fan-out.ts`):
   * for a job of a listener this app does not have, the delay (ms) after which to put it back
   * (another app runs that listener), or undefined to dead-letter it.
   */
  unknownListener: ((job: ReservedJob) => Promise<number | undefined>) | undefined;
  /**
   * @internal The schema the worker runs on a queued payload of an event name: `forRoot({ schemas })`,
   * or the bus's (which also has those of `bus.addValidator`) once `EventSchemasRegistrar` set it.
   */
  schemaOf: SchemaLookup = (name) => this.options.schemas.get(name);
  /** @internal Set once an event is versioned (`UpcasterExplorer`): upcasts what the worker reads. */
  readEvent: EventReader | undefined;

  constructor(
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
    private readonly registry: ListenerRegistry,
    private readonly container: ModulesContainer,
    @Optional() @Inject(EVENT_TRACER) private readonly tracer: EventTracer | null = null,
  ) {
    this.settler = new JobSettler(transport, this.abandoning.signal);
    this.sweeps = new InFlightSweeps(transport, this.inFlight, this.logger);
    this.runner = new JobRunner(
      this.settler,
      registry,
      this.inFlight,
      options.worker,
      (name) => this.schemaOf(name),
      () => this.unknownListener,
      () => this.readEvent,
      tracer,
    );
  }

  /** `running`, `stopped` (shutdown began), `off` (`worker: false`) or `idle` (not started yet). */
  get state(): 'running' | 'stopped' | 'off' | 'idle' {
    if (this.stopping.signal.aborted) return 'stopped';
    if (this.isStarted) return 'running';
    return this.options.worker.enabled || this.isServerOwned ? 'idle' : 'off';
  }

  /** @internal Tells `observer` of every handler call of this worker (`EventMetrics`). */
  observeAttempts(observer: AttemptObserver | undefined): void {
    this.runner.observer = observer;
  }

  /** @internal Flow control around every attempt (`FlowControl`). */
  useFlow(gate: AttemptGate): void {
    this.runner.flow = gate;
  }

  /** The queues this process works on. */
  queues(): string[] {
    const chosen = this.plan.queues ?? this.options.worker.queues;
    if (chosen) return [...chosen];
    const names = new Set<string>();
    for (const listener of this.registry.all()) if (listener.queue) names.add(listener.queue.queue);
    return [...names].sort();
  }

  onApplicationBootstrap(): void {
    if (!this.options.worker.enabled || this.isServerOwned) return;
    this.start();
  }

  /** @internal The app has an EventsServer: the worker waits for it instead of starting at bootstrap. */
  deferToServer(): void {
    this.isServerOwned = true;
  }

  /**
   * @internal Called by the EventsServer in `listen()`: starts the worker on the server's queues
   * and concurrency, even when `forRoot({ worker: false })` (the server is the process's worker).
   */
  startForServer(plan: WorkerPlan): void {
    this.plan = plan;
    this.start();
  }

  private start(): void {
    if (this.isStarted || this.stopping.signal.aborted) return;
    this.isStarted = true;
    const batchRunner = new BatchRunner(this.runner, this.settler, this.inFlight, this.tracer);
    for (const queue of this.queues()) {
      const concurrency = this.concurrency(queue);
      const batchSize = this.registry.batchSize(queue);
      const batches =
        batchSize > 0
          ? new BatchCollector(
              concurrency,
              this.registry,
              this.runner,
              batchRunner,
              this.settler,
              this.inFlight,
            )
          : undefined;
      const loop = new QueueLoop(
        queue,
        concurrency * Math.max(1, batchSize),
        this.transport,
        this.runner,
        this.settler,
        this.inFlight,
        Math.min(READ_AHEAD_MAX_WAIT_MS, Math.floor(this.options.visibilityTimeout / 2)),
        this.registry.isGrouped(queue),
        batches,
        this.registry.isRateLimited(queue),
      );
      this.loops.push(loop.run(this.stopping.signal));
    }
    this.sweeps.start(this.options.visibilityTimeout, this.options.worker.longRunningWarningMs);
  }

  onModuleInit(): void {
    // Stop before the application's own providers are destroyed (see installShutdownSentinel).
    installShutdownSentinel(this.container, () => this.drain());
  }

  /** Shutdown has begun (the first destroy hook, see `onModuleInit`): drains (idempotent). */
  async onModuleDestroy(): Promise<void> {
    await this.drain();
  }

  /** Drains, if an earlier hook did not (idempotent). Also how an EventsServer stops the worker. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  /**
   * Stops taking jobs at once (jobs read ahead go back to their queue), waits for running ones up
   * to `worker.shutdownTimeout`, then aborts them and leaves them pending; then waits for settles.
   */
  private drain(): Promise<void> {
    this.draining ??= this.stop();
    return this.draining;
  }

  private async stop(): Promise<void> {
    const wasRunning = this.isStarted && !this.stopping.signal.aborted;
    // Jobs of a transport that is not durable die with the process: nobody else could run them.
    // Run down what is ready (emits that resolved before shutdown) while the loops still read.
    if (wasRunning && this.transport.drain) {
      await this.transport.drain(this.options.worker.shutdownTimeout);
    }
    // Also when not started yet: a worker must not start once shutdown has begun.
    this.stopping.abort();
    if (!wasRunning) return;
    // One deadline for the whole drain; past it, nothing waits for Redis any more.
    await drainWithin(
      this.options.worker.shutdownTimeout,
      this.loops,
      this.inFlight,
      this.abandoning,
      this.logger,
    );
    this.sweeps.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (!this.stopping.signal.aborted) this.stopping.abort();
    this.abandoning.abort();
    this.sweeps.stop();
    await this.transport.close();
  }

  private concurrency(queue: string): number {
    const c = this.plan.concurrency ?? this.options.worker.concurrency;
    return typeof c === 'number' ? c : (c[queue] ?? 1);
  }
}
