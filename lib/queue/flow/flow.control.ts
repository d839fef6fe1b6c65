import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../../events.constants.js';
import type { ResolvedEventsOptions } from '../../events.options.js';
import type { EventEnvelope } from '../../event/event-envelope.js';
import { EventBus } from '../../bus/event-bus.js';
import { deserializeEnvelope } from '../../event/event.serializer.js';
import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import { ListenerRegistry } from '../../discovery/listener.registry.js';
import { COORDINATION_STORE, type CoordinationStore } from '../../middleware/coordination.store.js';
import type { AttemptAbort } from '../attempt-abort.js';
import type { NewJob, ReservedJob } from '../queue-job.js';
import type { QueueTransport } from '../queue-transport.interface.js';
import { QueueProducer } from '../queue.producer.js';
import { Worker } from '../worker.js';
import type { AttemptGate, JobAdmission } from './attempt-gate.js';
import { CancelOnGate } from './cancel-on.gate.js';
import { DebounceGate } from './debounce.gate.js';
import { SingletonGate } from './singleton.gate.js';

/** Longest wait (ms) before a running job sees that another process cancelled it. */
const MAX_POLL_MS = 500;

/**
 * Flow control of queued listeners (`@ShouldQueue({ singleton, cancelOn })`): hooks into the
 * producer (at emit), the bus (cancelOn events) and the worker (around an attempt), on the
 * coordination store, so it works alike on both transports and across worker processes.
 */
@Injectable()
export class FlowControl
  implements AttemptGate, JobAdmission, OnModuleInit, OnApplicationBootstrap
{
  private readonly singletons: SingletonGate;
  private readonly cancels: CancelOnGate;
  private readonly debounces: DebounceGate;

  constructor(
    @Inject(COORDINATION_STORE) store: CoordinationStore,
    @Inject(EVENTS_OPTIONS) options: ResolvedEventsOptions,
    @Inject(QUEUE_TRANSPORT) transport: QueueTransport,
    private readonly registry: ListenerRegistry,
    private readonly worker: Worker,
    private readonly producer: QueueProducer,
    private readonly bus: EventBus,
  ) {
    const leaseMs = options.visibilityTimeout;
    const pollMs = Math.max(20, Math.min(MAX_POLL_MS, Math.floor(leaseMs / 3)));
    this.singletons = new SingletonGate(store, leaseMs, pollMs);
    this.debounces = new DebounceGate(store, (payload) =>
      deserializeEnvelope(payload, (name) => registry.eventClass(name)),
    );
    this.cancels = new CancelOnGate(store, transport, (name) => registry.eventClass(name), pollMs);
  }

  onModuleInit(): void {
    this.worker.useFlow(this);
    this.producer.flow = this;
  }

  /** Listeners are registered by now (`ListenerExplorer.onModuleInit`): subscribe their cancelOn events. */
  onApplicationBootstrap(): void {
    // Patterns from decorators, checked there: untyped by the application's event map.
    const on = this.bus.on.bind(this.bus) as (
      pattern: string,
      listener: (event: EventEnvelope) => unknown,
    ) => () => void;
    for (const listener of this.registry.all()) {
      const cancelOn = listener.queue?.cancelOn;
      if (cancelOn === undefined) continue;
      // An in-process listener: its failure is logged with the event, and fails `emitAsync`.
      on(cancelOn.event, (event: EventEnvelope) => this.cancels.cancel(listener, event));
    }
  }

  applies(listener: ListenerDefinition): boolean;
  applies(jobs: readonly NewJob[]): boolean;
  applies(what: ListenerDefinition | readonly NewJob[]): boolean {
    if (Array.isArray(what)) {
      return what.some((job: NewJob) => job.singleton !== undefined || job.debounce !== undefined);
    }
    const queue = (what as ListenerDefinition).queue;
    return (
      queue?.singleton !== undefined ||
      queue?.cancelOn !== undefined ||
      queue?.debounce !== undefined
    );
  }

  async admit(jobs: readonly NewJob[]): Promise<NewJob[]> {
    const debounced = await this.debounces.admit(jobs, (id) => this.registry.get(id));
    return this.singletons.admit(debounced);
  }

  around(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    controller: AttemptAbort,
    run: (events?: readonly EventEnvelope[]) => Promise<unknown> | undefined,
  ): Promise<unknown> {
    const queue = listener.queue;
    const single =
      queue?.singleton === undefined
        ? run
        : () => this.singletons.around(listener, event, job, controller, run);
    // Debounce and singleton never share a listener: a debounced run is the plain `run`.
    const debounced =
      queue?.debounce === undefined
        ? single
        : () =>
            this.debounces.around(listener, event, job, (events) => Promise.resolve(run(events)));
    if (queue?.cancelOn === undefined) return Promise.resolve(debounced());
    return this.cancels.around(job, controller, debounced);
  }
}
