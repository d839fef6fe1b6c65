import type * as OpenTelemetry from '@opentelemetry/api';
import type { EventEnvelope } from '../event/event-envelope.js';
import { MissingPeerDependencyError } from '../errors/missing-peer.error.js';
import { ReleaseJobSignal } from '../middleware/release-job.signal.js';
import type { EventTracer, TracedAttempt, TracedBatch, TracedSend } from './event-tracer.js';
import { SpanTemplates } from './span-templates.js';
import type { ResolvedTracingOptions } from './tracing.options.js';

// The one file that loads `@opentelemetry/api` (an optional peer): only the types above name it,
// and they stay inside this file (nothing it exports mentions them).

/** Metadata keys of the W3C trace context, replaced (never inherited) on every traced emit. */
const TRACE_KEYS = ['traceparent', 'tracestate'] as const;

/**
 * Loads `@opentelemetry/api` and returns the tracer of the bus, or `null` when the package is
 * missing and tracing was not asked for explicitly.
 *
 * @param system the `messaging.system` attribute: `redis` or `memory`
 * @throws MissingPeerDependencyError when `tracing` is set and the package is missing.
 */
export async function loadOpenTelemetryTracer(
  options: ResolvedTracingOptions,
  system: string,
): Promise<EventTracer | null> {
  let api: typeof OpenTelemetry;
  try {
    api = await import('@opentelemetry/api');
  } catch (error) {
    if (!options.isRequired) return null;
    throw new MissingPeerDependencyError('tracing', '@opentelemetry/api', { cause: error });
  }
  return new OpenTelemetryTracer(api, options.tracerName, system, options.isDetailed === true);
}

/**
 * Spans are given at creation only the attributes a sampler may decide on (the messaging
 * conventions' system, operation and destination, and the listener); the message id and the
 * attempt are set after, and only on a span that records: the SDK copies creation attributes
 * twice before sampling, and a dropped span costs nothing more than its context. What a span
 * already says otherwise (the event is in its name, the job and correlation ids in the event) is
 * set only with `tracing: { detailedAttributes: true }`: each attribute is a copy and a check in
 * the SDK on every span, and a span outlives its job in the exporter's batch.
 */
class OpenTelemetryTracer implements EventTracer {
  constructor(
    private readonly api: typeof OpenTelemetry,
    private readonly tracerName: string,
    private readonly system: string,
    private readonly isDetailed: boolean,
  ) {}

  private cachedTracer: OpenTelemetry.Tracer | undefined;
  /** What the API's proxy delegates to while no SDK registered a tracer provider. */
  private readonly noopProvider = new this.api.ProxyTracerProvider().getDelegate();
  /** Once an SDK or a propagator was seen: it stays (see `isLive`). */
  private hasBeenLive = false;
  private readonly templates = new SpanTemplates(this.system);

  /**
   * Whether a span can be anything: an SDK registered a tracer provider, or a propagator that
   * reads the job's trace context (which its handler's emits would carry). Asked per emit and
   * attempt, not once: an SDK may start after the app. Without either, a span would be a
   * non-recording one with no context to pass on: emits and the worker skip it.
   */
  private get isLive(): boolean {
    if (this.hasBeenLive) return true;
    const { api } = this;
    const provider = api.trace.getTracerProvider();
    return (this.hasBeenLive =
      !(provider instanceof api.ProxyTracerProvider) ||
      provider.getDelegate() !== this.noopProvider ||
      api.propagation.fields().length > 0);
  }

  // Asked once: before an SDK registers its provider the API hands out a proxy tracer that
  // delegates to it once it exists, so an SDK started after the app still gets every span.
  private get tracer(): OpenTelemetry.Tracer {
    return (this.cachedTracer ??= this.api.trace.getTracer(this.tracerName));
  }

  send<R>(envelope: EventEnvelope, queues: readonly string[], store: () => Promise<R>): Promise<R> {
    if (!this.isLive) {
      dropInherited(envelope);
      return store();
    }
    const { span, spanContext } = this.open(envelope, queues);
    return this.within(span, spanContext, store) as Promise<R>;
  }

  sendMany<R>(sends: readonly TracedSend[], store: () => Promise<R>): Promise<R> {
    if (!this.isLive) {
      for (const s of sends) dropInherited(s.envelope);
      return store();
    }
    const spans: OpenTelemetry.Span[] = [];
    for (const s of sends) {
      const { span } = this.open(s.envelope, s.queues);
      if (span.isRecording()) spans.push(span);
    }
    // Every span dropped by the sampler: nothing to end (their context is in the metadata).
    if (spans.length === 0) return store();
    // One batch stores every event's jobs: each span ends with it, as it ends.
    let stored: Promise<R>;
    try {
      stored = store();
    } catch (error) {
      for (const span of spans) this.fail(span, error);
      throw error;
    }
    return stored.then(
      (value) => {
        for (const span of spans) span.end();
        return value;
      },
      (error: unknown) => {
        for (const span of spans) this.fail(span, error);
        throw error;
      },
    );
  }

  /** Starts the PRODUCER span of an emit and writes its trace context into the envelope. */
  private open(
    envelope: EventEnvelope,
    queues: readonly string[],
  ): { span: OpenTelemetry.Span; spanContext: OpenTelemetry.Context } {
    const { trace, context, propagation, SpanKind, ROOT_CONTEXT } = this.api;
    const active = context.active();
    const parent =
      trace.getSpan(active) === undefined
        ? propagation.extract(ROOT_CONTEXT, envelope.metadata)
        : active;
    // Most emits send to one queue: no set to build then, and attributes shared per queue.
    const distinct = queues.length === 1 ? (queues as string[]) : [...new Set(queues)];
    const span = this.tracer.startSpan(
      this.templates.spanNames(envelope.name).send,
      { kind: SpanKind.PRODUCER, attributes: this.templates.send(distinct, queues.length) },
      parent,
    );
    if (span.isRecording()) {
      span.setAttribute('messaging.message.id', envelope.id);
      // One queue is `messaging.destination.name` already; several have no destination name.
      if (distinct.length > 1) span.setAttribute('nestjs_events.queues', distinct);
      if (this.isDetailed) this.setDetails(span, envelope);
    }
    const spanContext = trace.setSpan(parent, span);
    dropInherited(envelope);
    propagation.inject(spanContext, envelope.metadata as Record<string, string>);
    return { span, spanContext };
  }

  process(
    event: EventEnvelope,
    attempt: TracedAttempt,
    run: () => Promise<unknown> | undefined,
  ): Promise<unknown> | undefined {
    if (!this.isLive) return run();
    const { api } = this;
    const parent = api.propagation.extract(api.ROOT_CONTEXT, event.metadata);
    const span = this.tracer.startSpan(
      this.templates.spanNames(event.name).process,
      {
        kind: api.SpanKind.CONSUMER,
        attributes: this.templates.attempt(attempt.queue, attempt.listener),
      },
      parent,
    );
    if (span.isRecording()) {
      span.setAttribute('messaging.message.id', event.id);
      span.setAttribute('nestjs_events.attempt', attempt.attempt);
      if (this.isDetailed) {
        span.setAttribute('nestjs_events.job.id', attempt.id);
        this.setDetails(span, event);
      }
    }
    return this.within(span, api.trace.setSpan(parent, span), run);
  }

  processBatch(batch: TracedBatch, run: () => Promise<unknown>): Promise<unknown> {
    const { api } = this;
    const links: OpenTelemetry.Link[] = [];
    const linked = new Set<string>();
    let isEveryJobTraced = true;
    for (const event of batch.events) {
      const producer = api.trace.getSpanContext(
        api.propagation.extract(api.ROOT_CONTEXT, event.metadata),
      );
      if (producer === undefined || !api.trace.isSpanContextValid(producer)) {
        isEveryJobTraced = false;
        continue;
      }
      const key = `${producer.traceId}/${producer.spanId}`;
      if (linked.has(key)) continue;
      linked.add(key);
      links.push({ context: producer });
    }
    // One producer span for every job (a batch of one, or retries of one emit): its child, as a
    // single job's span; jobs of several emits: a trace of its own, linked to each of them.
    const parent =
      isEveryJobTraced && links.length === 1
        ? api.trace.setSpanContext(api.ROOT_CONTEXT, links[0].context)
        : api.ROOT_CONTEXT;
    const names = new Set(batch.events.map((event) => event.name));
    const [name] = names;
    const span = this.tracer.startSpan(
      `process ${names.size === 1 ? name : batch.queue}`,
      {
        kind: api.SpanKind.CONSUMER,
        links,
        attributes: {
          'messaging.system': this.system,
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': batch.queue,
          'messaging.batch.message_count': batch.events.length,
          'nestjs_events.listener': batch.listener,
        },
      },
      parent,
    );
    if (span.isRecording()) {
      if (names.size === 1) span.setAttribute('nestjs_events.event', name);
      span.setAttribute('nestjs_events.attempt', batch.attempt);
    }
    return this.within(span, api.trace.setSpan(parent, span), run) as Promise<unknown>;
  }

  /** Runs `fn` with `span` active and ends the span when it is over (as failed if it failed). */
  private within<R>(
    span: OpenTelemetry.Span,
    spanContext: OpenTelemetry.Context,
    fn: () => Promise<R> | undefined,
  ): Promise<R> | undefined {
    // Dropped by the sampler: `fn` still runs in its context (what it emits inherits the
    // decision), but there is nothing to record or end, so no promise to chain.
    if (!span.isRecording()) return this.api.context.with(spanContext, fn);
    let running: Promise<R> | undefined;
    try {
      running = this.api.context.with(spanContext, fn);
    } catch (error) {
      this.fail(span, error);
      throw error;
    }
    if (running === undefined) {
      span.end();
      return undefined;
    }
    return running.then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        this.fail(span, error);
        throw error;
      },
    );
  }

  incoming(headers: Readonly<Record<string, unknown>>): Record<string, string> {
    const { trace, propagation, ROOT_CONTEXT } = this.api;
    const extracted = propagation.extract(ROOT_CONTEXT, headers);
    const spanContext = trace.getSpanContext(extracted);
    if (spanContext === undefined || !trace.isSpanContextValid(spanContext)) return {};
    const metadata: Record<string, string> = {};
    propagation.inject(extracted, metadata);
    return metadata;
  }

  /**
   * `detailedAttributes`: the event name, and its correlation id as the messaging conversation
   * id when it has one.
   */
  private setDetails(span: OpenTelemetry.Span, envelope: EventEnvelope): void {
    span.setAttribute('nestjs_events.event', envelope.name);
    const correlationId = envelope.metadata.correlationId;
    if (correlationId !== undefined) {
      span.setAttribute('messaging.message.conversation_id', correlationId);
    }
  }

  /** Ends `span` as failed, unless the attempt was only handed back (`context.release`). */
  private fail(span: OpenTelemetry.Span, error: unknown): void {
    if (error instanceof ReleaseJobSignal) {
      span.setAttribute('nestjs_events.released_ms', error.delayMs);
    } else {
      const exception = error instanceof Error ? error : String(error);
      span.recordException(exception);
      span.setAttribute('error.type', error instanceof Error ? error.name : typeof error);
      span.setStatus({
        code: this.api.SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    }
    span.end();
  }
}

/**
 * Deletes the trace context `envelope` inherited (from the event it was emitted in, an HTTP
 * request): a traced emit writes its own; an emit while nothing traces (see `isLive`) carries none,
 * as when its PRODUCER span was a no-op one whose context no propagator wrote.
 * In place: the metadata object is this emit's own (made by createEnvelope) and nothing has seen
 * it yet; every job, listener and the caller then see the same context. Deleted only when
 * inherited: a delete turns the object into a slower dictionary.
 */
function dropInherited(envelope: EventEnvelope): void {
  const metadata = envelope.metadata as Record<string, string>;
  for (const key of TRACE_KEYS) if (metadata[key] !== undefined) delete metadata[key];
}
