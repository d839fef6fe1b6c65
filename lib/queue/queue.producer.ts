import { Inject, Injectable } from '@nestjs/common';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import { tagsOf } from '../event/event-tags.js';
import { wireEnvelope } from '../event/event-schema.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { NewJob } from './queue-job.js';
import type { QueueTransport } from './queue-transport.interface.js';
import type { JobAdmission } from './flow/attempt-gate.js';
import { singletonKey } from './flow/singleton.gate.js';
import { debounceKey } from './flow/debounce.gate.js';

/** Turns emitted events into one job per queued listener and stores them in one batch. */
@Injectable()
export class QueueProducer {
  /** @internal Flow control at emit (`FlowControl`), once set. */
  flow: JobAdmission | undefined;
  /** @internal Told of each job `@ShouldQueue({ when })` declined (`EventMetrics` counts them). */
  onSkip: ((envelope: EventEnvelope, listener: ListenerDefinition) => void) | undefined;

  constructor(
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
  ) {}

  /**
   * Serializes now (so a bad payload throws before anything runs or is stored), then stores.
   * `isDeduplicated` (the emit passed its own `id`): jobs already stored for this event id within
   * `dedupeWindowMs` are not stored again.
   *
   * @throws UnserializablePayloadError, PayloadTooLargeError, InvalidTagsError synchronously.
   */
  enqueue(
    envelope: EventEnvelope,
    listeners: readonly ListenerDefinition[],
    delayMs: number,
    isDeduplicated = false,
    priority?: number,
  ): Promise<void> {
    return this.store(this.jobsOf(envelope, listeners, delayMs, isDeduplicated, priority));
  }

  /**
   * The jobs of one emitted event, one per queued listener, its payload serialized now with the
   * tags of a class event (`tags()`), which its jobs and dead letters keep.
   *
   * @throws UnserializablePayloadError, PayloadTooLargeError, InvalidTagsError.
   */
  jobsOf(
    envelope: EventEnvelope,
    listeners: readonly ListenerDefinition[],
    delayMs: number,
    isDeduplicated: boolean,
    priority?: number,
  ): NewJob[] {
    // A payload that went through a schema is stored as the schema accepted it (its input): the
    // worker runs the schema again and hands its output to the handler.
    const payload = serializeEnvelope(
      wireEnvelope(envelope),
      this.options.maxPayloadBytes,
      tagsOf(envelope.name, envelope.data),
    );
    return this.queuedWhen(envelope, listeners).map((listener) => {
      const queue = listener.queue!;
      const job: NewJob = {
        id: `${envelope.id}:${listener.id}`,
        queue: queue.queue,
        listener: listener.id,
        payload,
        delayMs: delayMs + queue.delay,
        eventId: envelope.id,
        isDeduplicated,
        ...(queue.singleton && {
          singleton: { key: singletonKey(listener, envelope), mode: queue.singleton.mode },
        }),
        ...(queue.debounce && { debounce: debounceKey(listener, envelope) }),
      };
      // The emit's priority (its option, or its class's) wins over the listener's.
      const level = priority ?? queue.priority;
      if (!level && !queue.priorityAgingMs) return job;
      return { ...job, priority: level ?? 0, priorityAgingMs: queue.priorityAgingMs };
    });
  }

  /** Stores jobs built by `jobsOf` (of one or many events) in one transport batch. */
  store(jobs: readonly NewJob[]): Promise<void> {
    const flow = this.flow;
    if (flow === undefined || !flow.applies(jobs)) return this.transport.enqueue(jobs);
    return flow.admit(jobs).then((kept) => this.transport.enqueue(kept));
  }

  /** The listeners whose `@ShouldQueue({ when })` takes this event (all of them, as a rule). */
  private queuedWhen(
    envelope: EventEnvelope,
    listeners: readonly ListenerDefinition[],
  ): readonly ListenerDefinition[] {
    if (!listeners.some((l) => l.queue?.when !== undefined)) return listeners;
    return listeners.filter((l) => {
      if (l.queue?.when === undefined || l.queue.when(envelope)) return true;
      this.onSkip?.(envelope, l);
      return false;
    });
  }
}
