import type { EventEnvelope } from '../event/event-envelope.js';

/** DI token of the `EventTracer` of the application (`null` when tracing is off or unavailable). */
export const EVENT_TRACER = Symbol('EVENT_TRACER');

/** What the consumer span of one queued attempt is told about it. */
export interface TracedAttempt {
  /** The job's id (a `ReservedJob` is one as it is). */
  readonly id: string;
  readonly queue: string;
  readonly listener: string;
  readonly attempt: number;
}

/** What the consumer span of one call of a batched listener is told about it. */
export interface TracedBatch {
  readonly queue: string;
  readonly listener: string;
  /** The highest attempt of the batch's jobs (`context.attempt`). */
  readonly attempt: number;
  /** The envelopes of the batch's jobs, each carrying its emit's trace context. */
  readonly events: readonly EventEnvelope[];
}

/** One event of a traced `emitMany`, and the queues its jobs go to. */
export interface TracedSend {
  readonly envelope: EventEnvelope;
  readonly queues: readonly string[];
}

/**
 * @internal Spans of the event bus, behind the library's own types: the OpenTelemetry adapter
 * (`opentelemetry.adapter.ts`) is its one implementation and the only file that loads the peer.
 */
export interface EventTracer {
  /**
   * Runs `store` (what stores an emit's queued jobs) in a PRODUCER span `send <event>`, whose
   * trace context is first written into `envelope.metadata` (`traceparent`, `tracestate`), so
   * that every job of the emit carries it. The span is the child of the active span, else of the
   * trace context the envelope inherited (an HTTP request's, a handled event's).
   */
  send<R>(envelope: EventEnvelope, queues: readonly string[], store: () => Promise<R>): Promise<R>;
  /**
   * `send` for the events of one `emitMany`: a PRODUCER span `send <event>` per event that has
   * queued jobs, its context written into that event's metadata, all children of the active span
   * and all ended when `store` (one transport batch for every event) settles.
   */
  sendMany<R>(sends: readonly TracedSend[], store: () => Promise<R>): Promise<R>;
  /**
   * Runs one attempt of a queued listener in a CONSUMER span `process <event>`, the child of the
   * trace context its envelope carries; a failure is recorded on it with an error status.
   * `run` returns `undefined` when the attempt was over when it returned.
   */
  process(
    event: EventEnvelope,
    attempt: TracedAttempt,
    run: () => Promise<unknown> | undefined,
  ): Promise<unknown> | undefined;
  /**
   * Runs one call of a batched listener in one CONSUMER span, linked to the producer span of
   * every job of the batch (several traces), and the child of that producer span only when all
   * the jobs carry the same one; a failure is recorded on it with an error status.
   */
  processBatch(batch: TracedBatch, run: () => Promise<unknown>): Promise<unknown>;
  /**
   * The trace context of incoming request headers (`traceparent`, `tracestate`), as metadata an
   * event context starts with; `{}` when the headers carry none.
   */
  incoming(headers: Readonly<Record<string, unknown>>): Record<string, string>;
}
