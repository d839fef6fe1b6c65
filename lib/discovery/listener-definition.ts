import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerInfo } from '../middleware/event-middleware.interface.js';
import type { BackoffOption } from '../queue/backoff.js';
import type { ResolvedGroupOptions } from '../queue/flow/group-options.js';
import type {
  CancelOnOptions,
  DebounceOptions,
  SingletonOptions,
} from '../queue/flow/flow-options.js';
import type { BatchOptions } from '../queue/flow/batch-options.js';

/** The second argument of every listener call. */
export interface ListenerContext {
  /**
   * Fires when the attempt times out, the worker shuts down, or another worker took the job
   * (reason: `LostOwnershipError`). Never fires in-process.
   */
  readonly signal: AbortSignal;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** The queue name, for a queued listener. */
  readonly queue?: string;
  /** The listener's id. */
  readonly listener: string;
  /**
   * The transaction's client, for an `afterCommit: false` listener running inside an outbox
   * transaction (a `pg` client, or the ORM's transaction object the emit was given).
   */
  readonly transaction?: unknown;
}

/** A listener function as the bus calls it. */
export type ListenerFn = (event: EventEnvelope, context: ListenerContext) => unknown;

/** Queue settings of a queued listener after defaults. */
export interface ResolvedQueueOptions {
  readonly queue: string;
  readonly tries: number;
  readonly backoff: BackoffOption;
  readonly delay: number;
  readonly timeout: number;
  /** The failure hook, already bound to its provider. */
  readonly onFailed?: (event: EventEnvelope, error: unknown) => unknown;
  /**
   * @internal The failure hook runs before the job is dead-lettered, while the worker still holds
   * it, for a hook that carries state forward (a saga step's compensation): a worker that dies
   * during the hook leaves the job pending, and its reclaim runs the job and the hook again. A
   * hook that throws (its store down) runs again, the job held, until it succeeds.
   * Otherwise (the default) the hook runs once, after the dead letter is stored.
   */
  readonly isHookBeforeDeadLetter?: boolean;
  /** `@ShouldQueue({ when })`, bound to its provider: false skips the job of that event. */
  readonly when?: (event: EventEnvelope) => boolean;
  /**
   * Fair scheduling across groups (`@ShouldQueue({ group })`); the listeners without a group on
   * a queue where another has one get the default group.
   */
  readonly group?: ResolvedGroupOptions;
  /** `@ShouldQueue({ priority })`; 0 when absent. */
  readonly priority?: number;
  /** `@ShouldQueue({ priorityAgingMs })`. */
  readonly priorityAgingMs?: number;
  /** `@ShouldQueue({ singleton })`: one running job per key. */
  readonly singleton?: SingletonOptions;
  /** `@ShouldQueue({ cancelOn })`: a later matching event cancels jobs. */
  readonly cancelOn?: CancelOnOptions;
  /** `@ShouldQueue({ debounce })`: one run per key after a quiet time. */
  readonly debounce?: DebounceOptions;
  /** `@ShouldQueue({ batch })`: the handler gets an array of envelopes. */
  readonly batch?: BatchOptions;
}

/** One registered listener: what discovery hands to the registry, free of Nest internals. */
export interface ListenerDefinition {
  readonly id: string;
  /** Former ids: queued jobs stored under one of them run this listener. */
  readonly aliases?: readonly string[];
  readonly patterns: readonly string[];
  readonly priority: number;
  readonly filter?: (event: EventEnvelope) => boolean;
  readonly info: ListenerInfo;
  /** Calls the listener through its middleware chain. */
  readonly invoke: ListenerFn;
  /**
   * False when `invoke` finishes its work before it returns (a plain sync method, no middleware):
   * such listeners skip AsyncLocalStorage. Leave it out unless sure.
   * @default true
   */
  readonly isAsync?: boolean;
  /** `false`: in an outbox transaction, runs inside it rather than after commit. */
  readonly afterCommit?: boolean;
  /** Present when the listener runs from a queue. */
  readonly queue?: ResolvedQueueOptions;
  /** Event classes named in its selectors, for rehydrating queued class events. */
  readonly eventClasses: readonly Function[];
  /** The provider class, for introspection and the test facade. */
  readonly classRef?: Function;
}

// In-process calls have no timeout and no shutdown abort: one signal that never fires serves all.
const NEVER_ABORTED = new AbortController().signal;

/** The context of an in-process call of `listenerId` (the same object for every call). */
export function inProcessContext(listenerId: string): ListenerContext {
  return Object.freeze({ signal: NEVER_ABORTED, attempt: 1, listener: listenerId });
}
