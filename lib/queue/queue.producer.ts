import { Inject, Injectable } from '@nestjs/common';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import { tagsOf } from '../event/event-tags.js';
import { wireEnvelope } from '../event/event-schema.js';
import type { EmitOptions } from '../bus/emit-options.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { assertGroupId, DEFAULT_GROUP_OPTIONS, jobGroup } from './flow/group-options.js';
import type { NewJob } from './queue-job.js';
import type { QueueTransport } from './queue-transport.interface.js';
import type { JobAdmission } from './flow/attempt-gate.js';
import { singletonKey } from './flow/singleton.gate.js';
import { debounceKey } from './flow/debounce.gate.js';

/** The emit options that shape queued jobs. */
export type JobOptions = Pick<EmitOptions, 'group' | 'priority'>;

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
    private readonly registry: ListenerRegistry,
  ) {}

  /**
   * Serializes now (so a bad payload throws before anything runs or is stored), then stores.
   * `isDeduplicated` (the emit passed its own `id`): jobs already stored for this event id within
   * `dedupeWindowMs` are not stored again.
   *
   * `options.group` (the emit's) overrides the group of grouped listeners; `options.priority`
   * (the emit's, or its class's) the priority of the others.
   *
   * @throws UnserializablePayloadError, PayloadTooLargeError, InvalidTagsError, InvalidGroupError,
   *   InvalidOptionError (a priority for a grouped queue) synchronously.
   */
  enqueue(
    envelope: EventEnvelope,
    listeners: readonly ListenerDefinition[],
    delayMs: number,
    isDeduplicated = false,
    options?: JobOptions,
  ): Promise<void> {
    return this.store(this.jobsOf(envelope, listeners, delayMs, isDeduplicated, options));
  }

  /**
   * The jobs of one emitted event, one per queued listener, its payload serialized now with the
   * tags of a class event (`tags()`), which its jobs and dead letters keep.
   *
   * @throws UnserializablePayloadError, PayloadTooLargeError, InvalidTagsError, InvalidGroupError,
   *   InvalidOptionError (a priority for a grouped queue).
   */
  jobsOf(
    envelope: EventEnvelope,
    listeners: readonly ListenerDefinition[],
    delayMs: number,
    isDeduplicated: boolean,
    options?: JobOptions,
  ): NewJob[] {
    // A payload that went through a schema is stored as the schema accepted it (its input): the
    // worker runs the schema again and hands its output to the handler.
    this.refusePriority(listeners, options?.priority);
    const payload = serializeEnvelope(
      wireEnvelope(envelope),
      this.options.maxPayloadBytes,
      tagsOf(envelope.name, envelope.data),
    );
    return this.queuedWhen(envelope, listeners).map((listener) => {
      const queue = listener.queue!;
      let job: NewJob = {
        id: `${envelope.id}:${listener.id}`,
        queue: queue.queue,
        listener: listener.id,
        payload,
        delayMs: delayMs + queue.delay,
        eventId: envelope.id,
        isDeduplicated,
      };
      // Spread only when there is something to add: a spread in a literal costs a runtime call.
      if (queue.singleton || queue.debounce) {
        job = {
          ...job,
          ...(queue.singleton && {
            singleton: { key: singletonKey(listener, envelope), mode: queue.singleton.mode },
          }),
          ...(queue.debounce && { debounce: debounceKey(listener, envelope) }),
        };
      }
      // Ungrouped queues pay one Map lookup per job here, nothing more.
      const groupOptions =
        queue.group ?? (this.registry.isGrouped(queue.queue) ? DEFAULT_GROUP_OPTIONS : undefined);
      if (groupOptions !== undefined) {
        // The emit's group applies to grouped listeners only, not to the default group's.
        const override = queue.group ? options?.group : undefined;
        return { ...job, group: jobGroup(groupOptions, listener.id, envelope, override) };
      }
      // The emit's priority (its option, or its class's) wins over the listener's.
      const level = options?.priority ?? queue.priority;
      if (!level && !queue.priorityAgingMs) return job;
      const priority = level ?? 0;
      const priorityAgingMs = queue.priorityAgingMs;
      if (job.singleton !== undefined || job.debounce !== undefined) {
        return { ...job, priority, priorityAgingMs };
      }
      // A literal, not a spread (a runtime call per job, about as much as the rest of the emit's
      // own work here), and one shape for every prioritized job the enqueuer reads.
      return {
        id: job.id,
        queue: job.queue,
        listener: job.listener,
        payload,
        delayMs: job.delayMs,
        eventId: job.eventId,
        isDeduplicated,
        priority,
        priorityAgingMs,
      };
    });
  }

  /**
   * Refuses an emit's priority (its option, or its class's) when one of its queued listeners sits
   * on a grouped queue: a queue is either grouped or prioritized, never both.
   *
   * @throws InvalidOptionError naming the listener and its queue.
   */
  refusePriority(listeners: readonly ListenerDefinition[], priority: number | undefined): void {
    if (priority === undefined) return;
    for (const listener of listeners) {
      const queue = listener.queue?.queue;
      if (queue === undefined || !this.registry.isGrouped(queue)) continue;
      throw new InvalidOptionError(
        'priority',
        priority,
        `no priority: listener "${listener.id}" sits on queue "${queue}", which has groups ` +
          '(groups and priorities do not combine on one queue)',
      );
    }
  }

  /**
   * Checks an emit's job options for its queued listeners without building jobs (an outbox row
   * keeps them until dispatch): a priority aimed at a grouped queue, a group the grouped
   * listeners could not take.
   *
   * @throws InvalidOptionError, InvalidGroupError.
   */
  checkJobOptions(
    eventName: string,
    listeners: readonly ListenerDefinition[],
    options: JobOptions | undefined,
  ): void {
    this.refusePriority(listeners, options?.priority);
    if (options?.group === undefined) return;
    for (const listener of listeners) {
      if (listener.queue?.group) assertGroupId(options.group, listener.id, eventName);
    }
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
