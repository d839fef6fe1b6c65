import type { EventEnvelope } from '../event/event-envelope.js';
import type { BackoffOption } from '../queue/backoff.js';

/** Where a saga is: running a step, waiting for an event, undoing, or over. */
export type SagaStatus =
  'running' | 'waiting' | 'compensating' | 'completed' | 'compensated' | 'failed';

/** What a step method receives. */
export interface SagaStepContext<I = unknown, S = Record<string, unknown>> {
  readonly sagaId: string;
  readonly input: I;
  /** The saga's state: change it here; it is stored when the step resolves. */
  state: S;
  /** The attempt number of this step (or compensation), from 1. */
  readonly attempt: number;
  /** Fires on the attempt's timeout, on shutdown, or when another worker took the job. */
  readonly signal: AbortSignal;
  /** `<sagaId>:<step>`: the same for every attempt, for idempotency keys of outside calls. */
  readonly stepKey: string;
  /** For a `waitFor` step, the event it waited for. */
  readonly event?: EventEnvelope;
}

/** One line of a saga's history. */
export interface SagaStepRecord {
  readonly step: string;
  readonly outcome: 'completed' | 'failed' | 'compensated' | 'compensation-failed';
  readonly at: number;
  readonly error?: string;
}

/** A saga as `SagaManager.get` and `list` report it. */
export interface SagaInfo<I = unknown, S = unknown> {
  readonly id: string;
  readonly name: string;
  readonly status: SagaStatus;
  /** The step running, waiting or being compensated; undefined once the saga is over. */
  readonly step: string | undefined;
  readonly input: I;
  readonly state: S;
  readonly history: readonly SagaStepRecord[];
  /** Why it compensated or failed. */
  readonly error?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What `execute` resolves with. */
export interface SagaOutcome<S = unknown> {
  readonly status: 'completed' | 'compensated' | 'failed';
  readonly state: S;
  readonly error?: string;
}

/**
 * A saga as stored. `data` holds input and state, serialized; `version` grows by one on every
 * write, and a write names the version it read (no saga advances twice).
 */
export interface SagaRecord {
  readonly id: string;
  readonly name: string;
  readonly status: SagaStatus;
  /** Index of the current step (forward), or of the step being compensated. */
  readonly step: number;
  readonly version: number;
  readonly data: string;
  readonly history: readonly SagaStepRecord[];
  readonly error?: string;
  /** Events that arrived for `waitFor` steps, serialized, by step index. */
  readonly inbox: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A step after discovery and defaults. */
export interface ResolvedSagaStep {
  readonly index: number;
  readonly method: string;
  readonly compensate?: string;
  readonly tries: number;
  readonly backoff: BackoffOption;
  readonly timeout: number;
  readonly waitFor?: string;
}

/** An orchestrated saga after discovery. */
export interface ResolvedSaga {
  readonly name: string;
  readonly classRef: Function;
  readonly instance: Record<string, unknown>;
  readonly queue: string;
  readonly timeout: number;
  readonly startOn: readonly string[];
  readonly key?: (event: EventEnvelope) => string;
  readonly steps: readonly ResolvedSagaStep[];
}

/** Statuses after which nothing runs by itself. */
export const FINISHED: readonly SagaStatus[] = ['completed', 'compensated', 'failed'];
