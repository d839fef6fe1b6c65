import type { EventEnvelope } from '../event/event-envelope.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import type {
  ListenerContext,
  ListenerDefinition,
  ResolvedQueueOptions,
} from '../discovery/listener-definition.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import type { NewJob } from '../queue/queue-job.js';
import type { ResolvedSaga } from './saga-definition.js';

/**
 * The jobs of a saga. Each is a queued job of one internal listener (`saga:<name>:...`), so the
 * worker gives it its retries, backoff, timeout, fencing, dead letters and failure hook.
 * - `step`: runs step `index`; `undo`: runs its compensation;
 * - `wait`: a `waitFor` step's timeout; `deadline`: the saga's timeout.
 */
export type SagaJobKind = 'step' | 'undo' | 'wait' | 'deadline';

/** The data of every saga job: which saga, at which version (a job of an older one is stale). */
export interface SagaJobData {
  readonly sagaId: string;
  readonly version: number;
  readonly index: number;
}

/** The id of a saga's internal listener. */
export function sagaListenerId(
  saga: string,
  kind: SagaJobKind | 'start' | 'event',
  index = 0,
): string {
  return kind === 'deadline' || kind === 'start'
    ? `saga:${saga}:${kind}`
    : `saga:${saga}:${kind}:${index}`;
}

/** An internal queued listener of a saga: reached by its id only (no pattern), or by `patterns`. */
export function sagaListener(
  saga: ResolvedSaga,
  id: string,
  queue: Omit<ResolvedQueueOptions, 'queue' | 'delay'>,
  invoke: (event: EventEnvelope, context: ListenerContext) => unknown,
  patterns: readonly string[] = [],
): ListenerDefinition {
  return {
    id,
    patterns,
    priority: 0,
    info: { id, className: saga.classRef.name, methodName: id, isQueued: true },
    invoke,
    isAsync: true,
    queue: { ...queue, queue: saga.queue, delay: 0 },
    eventClasses: [],
    classRef: saga.classRef,
  };
}

/**
 * Stores saga jobs. A job's id is made of the saga id, its version and the job kind, and is
 * stored deduplicated: enqueueing it again (the sweeper, a retried transition) stores nothing
 * twice.
 */
export class SagaJobs {
  /**
   * Whether the saga store may store these jobs itself, in the write of the saga
   * (`SagaStore.updateWithJob`): on a Redis transport without `replication` (an emit with it
   * waits for replicas; the store's script does not).
   */
  readonly isSharedWrite: boolean;

  constructor(
    private readonly transport: QueueTransport,
    private readonly maxPayloadBytes: number,
    isReplicated: boolean,
  ) {
    this.isSharedWrite = transport.kind === 'redis' && !isReplicated;
  }

  enqueue(saga: ResolvedSaga, kind: SagaJobKind, data: SagaJobData, delayMs = 0): Promise<void> {
    return this.store(this.job(saga, kind, data, delayMs));
  }

  store(job: NewJob): Promise<void> {
    return this.transport.enqueue([job]);
  }

  /** A saga job, ready to store. */
  job(saga: ResolvedSaga, kind: SagaJobKind, data: SagaJobData, delayMs = 0): NewJob {
    const listener = sagaListenerId(saga.name, kind, data.index);
    const id = `${data.sagaId}:${data.version}:${kind}`;
    return {
      id: `${id}:${listener}`,
      queue: saga.queue,
      listener,
      payload: sagaJobPayload(
        id,
        `saga.${saga.name}.${kind}`,
        data,
        Date.now(),
        this.maxPayloadBytes,
      ),
      delayMs,
      eventId: id,
      isDeduplicated: true,
    };
  }
}

/**
 * The payload of a saga job: its envelope through the serializer, as every job's. Its data is
 * flat (an id and two numbers), which the serializer's payload check passes without a walk.
 */
export function sagaJobPayload(
  id: string,
  name: string,
  data: SagaJobData,
  timestamp: number,
  maxPayloadBytes: number,
): string {
  return serializeEnvelope(
    {
      id,
      name,
      data,
      metadata: { sagaId: data.sagaId, correlationId: data.sagaId },
      timestamp,
    },
    maxPayloadBytes,
  );
}
