import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EVENTS_OPTIONS } from '../../events.constants.js';
import type { ResolvedEventsOptions } from '../../events.options.js';
import type { EventEnvelope } from '../../event/event-envelope.js';
import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import { COORDINATION_STORE, type CoordinationStore } from '../../middleware/coordination.store.js';
import type { AttemptAbort } from '../attempt-abort.js';
import type { NewJob, ReservedJob } from '../queue-job.js';
import { QueueProducer } from '../queue.producer.js';
import { Worker } from '../worker.js';
import type { AttemptGate, JobAdmission } from './attempt-gate.js';
import { SingletonGate } from './singleton.gate.js';

/** Longest wait (ms) before a running job sees that another process cancelled it. */
const MAX_POLL_MS = 500;

/**
 * Flow control of queued listeners (`@ShouldQueue({ singleton, cancelOn })`): hooks into the
 * producer (at emit) and the worker (around an attempt), on the coordination store, so it works
 * alike on both transports and across worker processes.
 */
@Injectable()
export class FlowControl implements AttemptGate, JobAdmission, OnModuleInit {
  private readonly singletons: SingletonGate;

  constructor(
    @Inject(COORDINATION_STORE) store: CoordinationStore,
    @Inject(EVENTS_OPTIONS) options: ResolvedEventsOptions,
    private readonly worker: Worker,
    private readonly producer: QueueProducer,
  ) {
    const leaseMs = options.visibilityTimeout;
    const pollMs = Math.max(20, Math.min(MAX_POLL_MS, Math.floor(leaseMs / 3)));
    this.singletons = new SingletonGate(store, leaseMs, pollMs);
  }

  onModuleInit(): void {
    this.worker.useFlow(this);
    this.producer.flow = this;
  }

  applies(listener: ListenerDefinition): boolean;
  applies(jobs: readonly NewJob[]): boolean;
  applies(what: ListenerDefinition | readonly NewJob[]): boolean {
    if (Array.isArray(what)) return what.some((job: NewJob) => job.singleton !== undefined);
    return (what as ListenerDefinition).queue?.singleton !== undefined;
  }

  admit(jobs: readonly NewJob[]): Promise<NewJob[]> {
    return this.singletons.admit(jobs);
  }

  around(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    controller: AttemptAbort,
    run: () => Promise<unknown> | undefined,
  ): Promise<unknown> {
    return this.singletons.around(listener, event, job, controller, run);
  }
}
