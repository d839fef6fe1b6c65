import { DurationHistogram } from './duration-histogram.js';
import type {
  EventNameMetrics,
  ListenerMetrics,
  MeasureMetrics,
  MetricsSnapshot,
  OutcomeCounts,
} from './metrics-snapshot.js';
import { ThroughputWindow } from './throughput-window.js';

/** How one attempt ended, as the store counts it. */
export type AttemptOutcome = 'handled' | 'retried' | 'deadLettered' | 'failed' | 'released';

/**
 * The outcome of one attempt as one word (Prometheus's `outcome` label): `success`, `failure`
 * (in-process), `retry`, `timeout` (timed out, with another attempt to come), `dead`, `released`.
 */
export function runOutcome(outcome: AttemptOutcome, isTimedOut: boolean): string {
  switch (outcome) {
    case 'handled':
      return 'success';
    case 'deadLettered':
      return 'dead';
    case 'released':
      return 'released';
    case 'retried':
      return isTimedOut ? 'timeout' : 'retry';
    default:
      return isTimedOut ? 'timeout' : 'failure';
  }
}

/** The label events past the cap are counted under. */
export const OTHER_EVENT = 'other';

type Counts = { -readonly [K in keyof OutcomeCounts]: number };

/** @internal The running totals of one event name. */
export type EventCounts = Counts & { emitted: number };

function counts(): Counts {
  return { handled: 0, failed: 0, retried: 0, timedOut: 0, deadLettered: 0, released: 0 };
}

function count(into: Counts, outcome: AttemptOutcome, isTimedOut: boolean): void {
  switch (outcome) {
    case 'handled':
      into.handled++;
      break;
    case 'released':
      into.released++;
      break;
    default:
      into.failed++;
      if (outcome === 'retried') into.retried++;
      else if (outcome === 'deadLettered') into.deadLettered++;
  }
  if (isTimedOut) into.timedOut++;
}

/** @internal The running totals of one listener or queue, read by the Prometheus export. */
export class Timed {
  readonly counts = counts();
  /** Attempts by `runOutcome`. */
  readonly outcomes: Record<string, number> = {};
  readonly duration = new DurationHistogram();
  /** Jobs `@ShouldQueue({ when })` declined: never queued, so not attempts. */
  skipped = 0;
  wait: DurationHistogram | undefined;
  readonly throughput: ThroughputWindow;

  constructor(
    readonly queue: string | undefined,
    since: number,
  ) {
    this.throughput = new ThroughputWindow(since);
  }

  /**
   * One queued attempt. `durationMs` is unset on the other jobs of a batch, whose one call is
   * timed once; `waitMs` (from when the job was stored to the handler's start) on first attempts.
   */
  addAttempt(
    outcome: AttemptOutcome,
    isTimedOut: boolean,
    durationMs: number | undefined,
    waitMs: number | undefined,
    now: number,
  ): void {
    count(this.counts, outcome, isTimedOut);
    const label = runOutcome(outcome, isTimedOut);
    this.outcomes[label] = (this.outcomes[label] ?? 0) + 1;
    if (durationMs !== undefined) this.duration.record(durationMs);
    if (waitMs !== undefined) (this.wait ??= new DurationHistogram()).record(waitMs);
    this.throughput.add(now);
  }

  /** One in-process call (never retried nor released), counted in the second `atMs`. */
  addCall(durationMs: number, isFailed: boolean, atMs: number): void {
    const { counts, outcomes } = this;
    if (isFailed) {
      counts.failed++;
      outcomes.failure = (outcomes.failure ?? 0) + 1;
    } else {
      counts.handled++;
      outcomes.success = (outcomes.success ?? 0) + 1;
    }
    this.duration.record(durationMs);
    this.throughput.add(atMs);
  }

  view(now: number): ListenerMetrics {
    const duration = this.duration.summary();
    return {
      ...(this.queue === undefined ? {} : { queue: this.queue }),
      ...this.counts,
      skipped: this.skipped,
      duration,
      avgLatencyMs: duration.avgMs,
      ...(this.wait === undefined ? {} : { wait: this.wait.summary() }),
      throughputPerSec: this.throughput.perSecond(now),
    };
  }
}

class Measured {
  calls = 0;
  errors = 0;
  readonly duration = new DurationHistogram();
  readonly throughput: ThroughputWindow;

  constructor(since: number) {
    this.throughput = new ThroughputWindow(since);
  }
}

/**
 * The totals of the event name one counter saw last (see `MetricsStore.event`): a burst of one
 * name skips the map lookup, names taking turns allocate nothing, and `reset()` is noticed by
 * the store's generation.
 */
export class LastEventCounts {
  private name: string | undefined;
  private counts: EventCounts | undefined;
  private generation = -1;

  constructor(private readonly store: MetricsStore) {}

  of(name: string): EventCounts {
    const store = this.store;
    if (name === this.name && this.generation === store.generation) return this.counts!;
    this.name = name;
    this.generation = store.generation;
    return (this.counts = store.event(name));
  }
}

/**
 * The counters behind `EventMetrics`: plain maps in this process, bounded (event names past
 * `maxEventLabels` share one entry; listeners, queues and measures are declared in code).
 */
export class MetricsStore {
  since = Date.now();
  /** @internal Counts once per `reset()`: what holds on to totals finds them again. */
  generation = 0;
  private events = new Map<string, EventCounts>();
  private listeners = new Map<string, Timed>();
  private queues = new Map<string, Timed>();
  private measures = new Map<string, Measured>();
  /** The totals of the name emitted last: a burst of one name skips the map lookup. */
  private readonly lastEmitted = new LastEventCounts(this);

  constructor(private readonly maxEventLabels: number) {}

  /** The name an event is counted under: itself, or `other` once the cap is reached. */
  eventLabel(name: string): string {
    return this.events.has(name) || this.events.size < this.maxEventLabels ? name : OTHER_EVENT;
  }

  emitted(name: string): void {
    // A name keeps its entry (its own, or `other` past the cap) until `reset()`.
    this.lastEmitted.of(name).emitted++;
  }

  /** @internal Counts an attempt's outcome in an event name's totals (see `event`). */
  count(into: EventCounts, outcome: AttemptOutcome, isTimedOut: boolean): void {
    count(into, outcome, isTimedOut);
  }

  /** A job of `listener` that `@ShouldQueue({ when })` declined for an event. */
  skipped(listener: string, queue: string): void {
    this.timed(this.listeners, listener, queue).skipped++;
    this.timed(this.queues, queue, queue).skipped++;
  }

  measured(name: string, durationMs: number, isError: boolean): void {
    let measured = this.measures.get(name);
    if (measured === undefined) this.measures.set(name, (measured = new Measured(this.since)));
    measured.calls++;
    if (isError) measured.errors++;
    measured.duration.record(durationMs);
    measured.throughput.add(Date.now());
  }

  snapshot(): MetricsSnapshot {
    const now = Date.now();
    const view = (map: Map<string, Timed>): Record<string, ListenerMetrics> =>
      Object.fromEntries([...map].map(([key, timed]) => [key, timed.view(now)]));
    const measures: Record<string, MeasureMetrics> = {};
    for (const [name, m] of this.measures) {
      const duration = m.duration.summary();
      measures[name] = {
        calls: m.calls,
        errors: m.errors,
        duration,
        avgLatencyMs: duration.avgMs,
        throughputPerSec: m.throughput.perSecond(now),
      };
    }
    const events: Record<string, EventNameMetrics> = {};
    for (const [name, c] of this.events) events[name] = { ...c };
    return {
      since: this.since,
      takenAt: now,
      events,
      listeners: view(this.listeners),
      queues: view(this.queues),
      measures,
    };
  }

  /** @internal Emits by event label. */
  emits(): IterableIterator<[string, { readonly emitted: number }]> {
    return this.events.entries();
  }

  /** @internal Listeners by id, with their totals. */
  listenerTotals(): IterableIterator<[string, Timed]> {
    return this.listeners.entries();
  }

  reset(): void {
    this.generation++;
    this.since = Date.now();
    this.events = new Map();
    this.listeners = new Map();
    this.queues = new Map();
    this.measures = new Map();
  }

  /** @internal The totals an event name is counted in (its own, or `other` past the cap). */
  event(name: string): EventCounts {
    let c = this.events.get(name);
    if (c !== undefined) return c;
    const label = this.eventLabel(name);
    c = this.events.get(label);
    if (c === undefined) this.events.set(label, (c = { ...counts(), emitted: 0 }));
    return c;
  }

  /** @internal The totals of a listener (`queue` unset: in-process). */
  listener(id: string, queue?: string): Timed {
    return this.timed(this.listeners, id, queue);
  }

  /** @internal The totals of a queue. */
  queue(name: string): Timed {
    return this.timed(this.queues, name, name);
  }

  private timed(map: Map<string, Timed>, key: string, queue: string | undefined): Timed {
    let timed = map.get(key);
    if (timed === undefined) map.set(key, (timed = new Timed(queue, this.since)));
    return timed;
  }
}
