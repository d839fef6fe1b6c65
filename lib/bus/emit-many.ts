import { classPriority } from '../queue/job-priority.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type {
  EmitPayload,
  IsTypedEvents,
  MappedClassEvent,
  MappedEventName,
  TypedEventName,
} from '../event/event-map.js';
import type { ListenerRegistry, ResolvedListeners } from '../discovery/listener.registry.js';
import type { EmitFailures } from './emit-failures.js';
import type { EmitPreparer } from './emit-preparer.js';
import type { EventDelivery } from './event-delivery.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { NewJob } from '../queue/queue-job.js';
import type { QueueProducer } from '../queue/queue.producer.js';
import type { EventTracer, TracedSend } from '../tracing/event-tracer.js';
import { tracedQueues } from '../tracing/traced-queues.js';
import type { EventRecorder } from '../store/event.recorder.js';
import type { EmitOptions } from './emit-options.js';

/** One event of `emitMany` by name: what `emit(name, data, options)` takes. */
type NamedItem<N extends string, D> = undefined extends D
  ? { readonly name: N; readonly data?: D; readonly options?: EmitOptions }
  : { readonly name: N; readonly data: D; readonly options?: EmitOptions };

type MappedNamedItem = {
  [N in MappedEventName]: NamedItem<N, EmitPayload<N>>;
}[MappedEventName];

/**
 * One event of `bus.emitMany`: `{ name, data?, options? }` as `emit(name, data, options)` takes
 * them, or `{ event, options? }` for a class event as `emit(instance, options)`. With an
 * `EventMap`, names and payloads are checked as `emit` checks them.
 */
export type EmitManyItem =
  | (IsTypedEvents extends true
      ? | MappedNamedItem
        | (TypedEventName extends MappedEventName ? never : NamedItem<string & {}, unknown>)
      : NamedItem<string, unknown>)
  | { readonly event: MappedClassEvent; readonly options?: EmitOptions };

/** One item of a bulk emit, checked, with its envelope and (once bound) its listeners. */
export interface BulkEvent {
  readonly envelope: EventEnvelope;
  /** The envelope once an async schema has answered (then `envelope` is a placeholder). */
  readonly validated?: Promise<EventEnvelope>;
  readonly options: EmitOptions | undefined;
  listeners?: ResolvedListeners;
  dueAt?: number;
}

/** What `emitMany` needs of the bus; `EventBus.emitMany` hands it over. */
export interface BulkEmitHost {
  readonly producer: QueueProducer;
  readonly recorder: EventRecorder | null;
  /** Traces the batch (a PRODUCER span per event with jobs); `null` when tracing is off. */
  readonly tracer: EventTracer | null;
  /**
   * Builds and checks the envelope as `emit` does; throws its typed errors. A promise when the
   * event's schema is async (it rejects with `EventValidationError`).
   */
  envelope(
    nameOrEvent: unknown,
    data: unknown,
    options: EmitOptions | undefined,
  ): EventEnvelope | Promise<EventEnvelope>;
  /** Before bootstrap: keeps `deliver` for when listeners are bound and returns true. */
  hold(deliver: () => void): boolean;
  /** The test facade's hook: true when it took the event (nothing else happens to it). */
  intercept(envelope: EventEnvelope, options: EmitOptions | undefined): boolean;
  resolve(name: string): ResolvedListeners;
  /** The in-process half of an emit whose jobs are stored: its listeners now, or at `dueAt`. */
  runStored(envelope: EventEnvelope, listeners: ResolvedListeners, dueAt: number): void;
  logFailure(error: unknown, name: string, id: string | undefined): void;
}

/** What the bus hands `bulkEmitHost`: its parts that `emitMany` works through. */
export interface BulkEmitParts {
  readonly producer: QueueProducer;
  readonly recorder: EventRecorder | null;
  readonly tracer: EventTracer | null;
  readonly preparer: EmitPreparer;
  readonly delivery: EventDelivery;
  readonly registry: ListenerRegistry;
  readonly failures: EmitFailures;
}

/** The bus as `emitMany` needs it. */
export function bulkEmitHost(parts: BulkEmitParts): BulkEmitHost {
  const { preparer, delivery, registry, failures } = parts;
  return {
    producer: parts.producer,
    recorder: parts.recorder,
    tracer: parts.tracer,
    envelope: (nameOrEvent, data, options) => {
      const prepared = preparer.prepare(nameOrEvent, data, options);
      return prepared instanceof Promise ? prepared.then((p) => p.envelope) : prepared.envelope;
    },
    hold: (deliver) => delivery.hold(deliver),
    intercept: (envelope, options) => delivery.interceptor?.(envelope, 'emit', options) === true,
    resolve: (name) => registry.resolve(name),
    runStored: (envelope, listeners, dueAt) =>
      void delivery.runStored(envelope, listeners, 'emit', dueAt),
    logFailure: (error, name, id) => failures.log(error, name, id),
  };
}

const ITEM_SHAPE = 'an object { name, data?, options? } or { event, options? }';

/**
 * `bus.emitMany(items)`: checks every item and serializes every queued payload first (a bad item
 * throws its typed error and nothing is stored or run), then stores all their queued jobs in one
 * transport batch (on a standalone Redis, one script call: all of them or none; on a Redis
 * Cluster, one script call per queue: all or none within each queue), then runs each event's
 * in-process listeners as `emit` would, in item order. Resolves to the envelopes, in item order.
 */
export function emitMany(
  host: BulkEmitHost,
  items: readonly EmitManyItem[],
): Promise<EventEnvelope[]> {
  if (!Array.isArray(items)) {
    return failed(
      host,
      new InvalidOptionError('events', items, `an array of ${ITEM_SHAPE}`),
      'emitMany',
      undefined,
    );
  }
  const events: BulkEvent[] = new Array(items.length);
  let validating: Promise<EventEnvelope>[] | undefined;
  for (let i = 0; i < items.length; i++) {
    try {
      const checked = checkItem(host, items[i], i);
      events[i] = checked;
      if (checked.validated !== undefined) (validating ??= []).push(checked.validated);
    } catch (error) {
      // The schemas already asked are not awaited: their verdicts must not go unhandled.
      for (const promise of validating ?? []) promise.catch(noop);
      return failed(host, error, `emitMany: item ${i} of ${items.length}`, undefined);
    }
  }
  if (validating === undefined) return send(host, events);
  // Async schemas: every verdict first, as `emit` awaits its own; nothing stored or run before.
  const sent = Promise.all(events.map((e) => e.validated ?? e.envelope)).then(
    (envelopes) =>
      send(
        host,
        events.map((e, i) => ({ envelope: envelopes[i], options: e.options })),
      ),
    (error: unknown) => failed(host, error, describeBatch(events), undefined),
  );
  // Logged where it failed: a bulk emit without `await` cannot end the process.
  sent.catch(noop);
  return sent;
}

/** The rest of `emitMany`, once every item is checked and validated. */
function send(host: BulkEmitHost, events: BulkEvent[]): Promise<EventEnvelope[]> {
  const envelopes = events.map((e) => e.envelope);
  // Before bootstrap, as `emit`: kept and delivered once listeners are bound; resolves now.
  const late = (): void => {
    const report = (error: unknown): void =>
      host.logFailure(error, `${describeBatch(events)} emitted before bootstrap`, undefined);
    try {
      deliver(host, events).catch(report);
    } catch (error) {
      report(error);
    }
  };
  if (host.hold(late)) return Promise.resolve(envelopes);
  let delivered: Promise<void>;
  try {
    delivered = deliver(host, events);
  } catch (error) {
    return failed(host, error, describeBatch(events), undefined);
  }
  return delivered.then(
    () => envelopes,
    (error: unknown) => {
      host.logFailure(error, describeBatch(events), undefined);
      throw error;
    },
  );
}

/** Builds and checks one item's envelope as `emit` would; throws its typed error. */
function checkItem(host: BulkEmitHost, value: EmitManyItem, i: number): BulkEvent {
  const item = value as unknown as Record<string, unknown> | null;
  if (item === null || typeof item !== 'object') {
    throw new InvalidOptionError(`events[${i}]`, item, ITEM_SHAPE);
  }
  let options = item.options as EmitOptions | undefined;
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new InvalidOptionError(`events[${i}].options`, options, 'an object of emit options');
  }
  let envelope: EventEnvelope | Promise<EventEnvelope>;
  if ('event' in item) {
    const priority = classPriority(item.event);
    // The item's own option wins over its class's priority.
    if (priority !== undefined && options?.priority === undefined) {
      options = { ...options, priority };
    }
    envelope = host.envelope(item.event, options, undefined);
  } else if (typeof item.name === 'string') envelope = host.envelope(item.name, item.data, options);
  else throw new InvalidOptionError(`events[${i}]`, item, ITEM_SHAPE);
  if (envelope instanceof Promise)
    return { envelope: placeholder(item), validated: envelope, options };
  return { envelope, options };
}

/** What names an item whose async schema has not answered yet (for the failure log). */
function placeholder(item: Record<string, unknown>): EventEnvelope {
  const name =
    typeof item.name === 'string'
      ? item.name
      : String((item.event as { constructor?: { name?: unknown } })?.constructor?.name);
  return { id: '', name, data: undefined, metadata: {}, timestamp: 0 };
}

/**
 * Stores, then runs. Throws synchronously when a payload cannot be queued (nothing stored yet);
 * rejects when storing fails (nothing run).
 */
function deliver(host: BulkEmitHost, events: readonly BulkEvent[]): Promise<void> {
  const kept: BulkEvent[] = [];
  const now = Date.now();
  for (const event of events) {
    if (host.intercept(event.envelope, event.options)) continue;
    const listeners = host.resolve(event.envelope.name);
    const delay = event.options?.delay ?? 0;
    event.listeners = listeners;
    event.dueAt = delay > 0 ? now + delay : 0;
    kept.push(event);
  }
  const tracer = host.tracer;
  if (tracer === null) return store(host, kept);
  // Traced as `emit` is: the trace context goes into each event's metadata before its jobs
  // (and its record) are serialized.
  const sends: TracedSend[] = [];
  for (const e of kept) {
    const queued = e.listeners!.queued;
    if (queued.length > 0) {
      sends.push({ envelope: e.envelope, queues: tracedQueues(queued) });
    }
  }
  return sends.length === 0 ? store(host, kept) : tracer.sendMany(sends, () => store(host, kept));
}

/** Records and stores the jobs of the kept events in one batch, then runs their in-process half. */
function store(host: BulkEmitHost, kept: readonly BulkEvent[]): Promise<void> {
  const jobs: NewJob[] = [];
  for (const event of kept) {
    const queued = event.listeners!.queued;
    if (queued.length === 0) continue;
    const isDeduplicated = event.options?.id !== undefined;
    const delay = event.options?.delay ?? 0;
    for (const job of host.producer.jobsOf(
      event.envelope,
      queued,
      delay,
      isDeduplicated,
      event.options,
    ))
      jobs.push(job);
  }
  const run = (): void => {
    for (const e of kept) host.runStored(e.envelope, e.listeners!, e.dueAt!);
  };
  // As with `emit`: records first (in item order, batched by the recorder), then the jobs; the
  // in-process half runs only once everything is stored.
  const recorded = host.recorder === null ? [] : kept.map((e) => host.recorder!.record(e.envelope));
  const pending = recorded.filter((r) => r !== undefined);
  if (pending.length === 0) {
    if (jobs.length === 0) {
      run();
      return Promise.resolve();
    }
    return host.producer.store(jobs).then(run);
  }
  return Promise.all(pending)
    .then(() => (jobs.length > 0 ? host.producer.store(jobs) : undefined))
    .then(run);
}

function failed(
  host: BulkEmitHost,
  error: unknown,
  what: string,
  id: string | undefined,
): Promise<never> {
  const rejected = Promise.reject(error);
  rejected.catch(noop);
  host.logFailure(error, what, id);
  return rejected;
}

/** `emitMany of 3 events (a.b, ...)`, for the log. */
function describeBatch(events: readonly BulkEvent[]): string {
  const names = [...new Set(events.slice(0, 50).map((e) => e.envelope.name))];
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', ...' : '');
  return `emitMany of ${events.length} event(s) (${shown})`;
}

function noop(): void {}
