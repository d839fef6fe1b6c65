import type { EventEnvelope } from '../event/event-envelope.js';
import type {
  ListenerContext,
  ListenerDefinition,
  ListenerFn,
} from '../discovery/listener-definition.js';
import { isThenable } from '../is-thenable.js';
import { DURATION_BUCKETS_MS } from './duration-histogram.js';
import { LastEventCounts, type MetricsStore, type Timed } from './metrics-store.js';

/**
 * Sync calls that took less than this (ms, the first histogram bucket) are timed one in
 * `SAMPLE_EVERY`: reading the clock twice costs more than such a call and the rest of its
 * bookkeeping together (about 100 ns a read on a busy VM). Longer calls, and calls that return
 * a promise, are all timed.
 */
export const SAMPLED_BELOW_MS = DURATION_BUCKETS_MS[0];
/** One fast sync call in this many is timed; the others count with the last timed duration. */
export const SAMPLE_EVERY = 16;

/**
 * What one in-process listener's calls are counted into, found once per listener (and again
 * after `EventMetrics.reset()`), not looked up by string keys on every call.
 */
class InProcessTally {
  /** Calls left before the next timed one. */
  private untimed = 0;
  /** The last timed duration (ms): what the untimed calls after it are counted with. */
  private lastMs = 0;
  private generation = -1;
  private totals: Timed | undefined;
  private readonly events: LastEventCounts;

  constructor(
    private readonly store: MetricsStore,
    private readonly listener: string,
    private readonly invoke: ListenerFn,
  ) {
    this.events = new LastEventCounts(store);
  }

  /**
   * The listener's call as the bus makes it: a sync result or throw comes back as is (no
   * promise is made for it); a returned promise is counted when it settles, and the caller gets
   * that same promise.
   */
  readonly call = (event: EventEnvelope, context: ListenerContext): unknown => {
    if (this.untimed > 0) {
      this.untimed--;
      let result: unknown;
      try {
        result = this.invoke(event, context);
      } catch (error) {
        this.record(event, this.lastMs, true);
        throw error;
      }
      if (!isThenable(result)) {
        this.record(event, this.lastMs, false);
        return result;
      }
      // It returns promises now: time every call again, this one from here.
      this.untimed = 0;
      return this.settle(event, result, performance.now());
    }
    const startedAt = performance.now();
    let result: unknown;
    try {
      result = this.invoke(event, context);
    } catch (error) {
      this.record(event, this.timed(performance.now() - startedAt, true), true);
      throw error;
    }
    if (isThenable(result)) return this.settle(event, result, startedAt);
    this.record(event, this.timed(performance.now() - startedAt, true), false);
    return result;
  };

  /** Counts a returned promise when it settles; the caller gets the same promise. */
  private settle(event: EventEnvelope, result: PromiseLike<unknown>, startedAt: number): unknown {
    result.then(
      () => this.record(event, this.timed(performance.now() - startedAt, false), false),
      () => this.record(event, this.timed(performance.now() - startedAt, false), true),
    );
    return result;
  }

  /** Keeps a timed duration, and decides whether the next calls are timed. */
  private timed(durationMs: number, isSync: boolean): number {
    this.lastMs = durationMs;
    this.untimed = isSync && durationMs < SAMPLED_BELOW_MS ? SAMPLE_EVERY - 1 : 0;
    return durationMs;
  }

  private record(event: EventEnvelope, durationMs: number, isFailed: boolean): void {
    const store = this.store;
    let totals = this.totals;
    if (totals === undefined || this.generation !== store.generation) {
      this.generation = store.generation;
      this.totals = totals = store.listener(this.listener);
    }
    const counts = this.events.of(event.name);
    if (isFailed) counts.failed++;
    else counts.handled++;
    // In the second of its emit: the clock is not read for an untimed call.
    totals.addCall(durationMs, isFailed, event.timestamp);
  }
}

/**
 * The same in-process listener, its calls counted and timed (`metrics.inProcess`) into `store`.
 * A sync listener stays sync; one that returns a promise is timed until it settles.
 */
export function timedListener(
  definition: ListenerDefinition,
  store: MetricsStore,
): ListenerDefinition {
  return {
    ...definition,
    invoke: new InProcessTally(store, definition.id, definition.invoke).call,
  };
}
