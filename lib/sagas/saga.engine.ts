import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerContext } from '../discovery/listener-definition.js';
import { isThenable } from '../is-thenable.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { SagaDataError } from '../errors/saga-data.error.js';
import { SagaTimeoutError } from '../errors/saga-timeout.error.js';
import { decodeEvent, decodeSagaData, encodeEvent, encodeSagaData } from './saga-codec.js';
import type { SagaJobData } from './saga-jobs.js';
import type { SagaTransitions } from './saga-transitions.js';
import { StepContext } from './saga-step-context.js';
import {
  FINISHED,
  type ResolvedSaga,
  type SagaRecord,
  type SagaStatus,
} from './saga-definition.js';

/** Writes that lost to a concurrent one are tried again on a fresh read, this many times. */
const MAX_CONFLICTS = 20;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What the saga jobs do when the worker runs them. Each job names the saga version it was made
 * for; a job that finds another version (the saga moved on, was aborted, or the job ran twice
 * after a reclaim) does nothing: no saga advances twice.
 */
export class SagaEngine {
  private readonly logger = new Logger('Sagas');

  constructor(
    private readonly transitions: SagaTransitions,
    private readonly maxPayloadBytes: number,
    private readonly eventClass: (name: string) => Function | undefined,
    /** Brings an event kept in a saga's inbox (maybe before an upcaster was deployed) up to date. */
    private readonly upcast: (event: EventEnvelope) => EventEnvelope = (event) => event,
  ) {}

  private get store() {
    return this.transitions.store;
  }

  /** The record a job was made for, or undefined when the job is stale. */
  private async current(data: SagaJobData, status: SagaStatus): Promise<SagaRecord | undefined> {
    const record = await this.store.get(data.sagaId);
    if (
      record?.version === data.version &&
      record.status === status &&
      record.step === data.index
    ) {
      return record;
    }
    return undefined;
  }

  /** A step job: runs the step, stores its state, moves on. */
  async runStep(saga: ResolvedSaga, data: SagaJobData, context: ListenerContext): Promise<void> {
    const record = await this.current(data, 'running');
    if (record === undefined) return;
    const step = saga.steps[data.index];
    const inbox = record.inbox[data.index];
    const event = inbox === undefined ? undefined : this.inboxEvent(inbox);
    const state = await this.call(saga, record, step.method, context, event);
    const patch = {
      data: state,
      history: { step: step.method, outcome: 'completed', at: this.transitions.clock.now() },
    } as const;
    let read = record;
    for (let i = 0; i < MAX_CONFLICTS; i++) {
      if (await this.transitions.forward(saga, read, data.index + 1, patch)) return;
      // Refused: another write came first. An event kept in the inbox for a later step moves
      // the record on while this step runs; the step's result still stands on that record.
      const fresh = await this.store.get(data.sagaId);
      if (
        fresh === undefined ||
        fresh.status !== 'running' ||
        fresh.step !== data.index ||
        fresh.data !== record.data
      ) {
        return;
      }
      read = fresh;
    }
    throw new Error(
      `Saga "${data.sagaId}": step ${step.method} lost ${MAX_CONFLICTS} write races in a row`,
    );
  }

  /** A step that failed for good (the job's failure hook): compensation starts. */
  async stepFailed(saga: ResolvedSaga, data: SagaJobData, error: unknown): Promise<void> {
    const record = await this.current(data, 'running');
    if (record === undefined) return;
    const step = saga.steps[data.index];
    const reason = messageOf(error);
    await this.transitions.compensateFrom(saga, record, data.index - 1, {
      error: `${step.method}: ${reason}`,
      history: {
        step: step.method,
        outcome: 'failed',
        at: this.transitions.clock.now(),
        error: reason,
      },
    });
  }

  /** A compensation job: undoes one step, then the one before it. */
  async runUndo(saga: ResolvedSaga, data: SagaJobData, context: ListenerContext): Promise<void> {
    const record = await this.current(data, 'compensating');
    if (record === undefined) return;
    const step = saga.steps[data.index];
    const state = await this.call(saga, record, step.compensate!, context, undefined);
    await this.transitions.compensateFrom(saga, record, data.index - 1, {
      data: state,
      history: { step: step.method, outcome: 'compensated', at: this.transitions.clock.now() },
    });
  }

  /** A compensation that failed for good: the saga is `failed`, for `retry`. */
  async undoFailed(saga: ResolvedSaga, data: SagaJobData, error: unknown): Promise<void> {
    const record = await this.current(data, 'compensating');
    if (record === undefined) return;
    const step = saga.steps[data.index];
    const reason = messageOf(error);
    const failed = await this.transitions.write(record, {
      status: 'failed',
      error: `${step.compensate}: ${reason}`,
      history: {
        step: step.method,
        outcome: 'compensation-failed',
        at: this.transitions.clock.now(),
        error: reason,
      },
    });
    if (failed) await this.transitions.finished(saga, failed);
  }

  /** A `waitFor` step's timeout: if the saga still waits at that version, the step fails. */
  async waitTimedOut(saga: ResolvedSaga, data: SagaJobData): Promise<void> {
    const record = await this.current(data, 'waiting');
    if (record === undefined) return;
    const step = saga.steps[data.index];
    const error = new SagaTimeoutError(record.id, step.method, step.timeout);
    await this.transitions.compensateFrom(saga, record, data.index - 1, {
      error: `${step.method}: ${error.message}`,
      history: {
        step: step.method,
        outcome: 'failed',
        at: this.transitions.clock.now(),
        error: error.message,
      },
    });
  }

  /** The saga's deadline: a saga still running or waiting compensates. */
  async deadline(saga: ResolvedSaga, data: SagaJobData): Promise<void> {
    await this.abort(
      saga,
      data.sagaId,
      new SagaTimeoutError(data.sagaId, undefined, saga.timeout).message,
    );
  }

  /**
   * Compensates a running or waiting saga now (the running step, not done, is not undone).
   * Returns the status it found when it could not abort.
   */
  async abort(saga: ResolvedSaga, sagaId: string, reason: string): Promise<SagaStatus | undefined> {
    for (let i = 0; i < MAX_CONFLICTS; i++) {
      const record = await this.store.get(sagaId);
      if (record === undefined || record.status === 'compensating') return record?.status;
      if (FINISHED.includes(record.status)) return record.status;
      const done = await this.transitions.compensateFrom(saga, record, record.step - 1, {
        error: `aborted: ${reason}`,
      });
      if (done) return undefined;
    }
    throw new Error(`Saga "${sagaId}": abort lost ${MAX_CONFLICTS} write races in a row`);
  }

  /**
   * An event for a `waitFor` step: resumes the saga waiting for it, or keeps it in the saga's
   * inbox when the saga has not reached that step yet.
   */
  async received(saga: ResolvedSaga, index: number, event: EventEnvelope): Promise<void> {
    const sagaId = saga.key!(event);
    const stored = encodeEvent(event, this.maxPayloadBytes);
    for (let i = 0; i < MAX_CONFLICTS; i++) {
      const record = await this.store.get(sagaId);
      if (
        record === undefined ||
        FINISHED.includes(record.status) ||
        record.status === 'compensating'
      ) {
        this.logger.warn(
          `Saga ${saga.name} "${sagaId}": "${event.name}" (${event.id}) arrived but no such saga waits for it`,
        );
        return;
      }
      if (record.step > index || record.inbox[index] !== undefined) return;
      const inbox = { ...record.inbox, [index]: stored };
      const written =
        record.step === index
          ? await this.transitions.forward(saga, record, index, { inbox })
          : await this.transitions.write(record, { inbox });
      if (written) return;
    }
    throw new Error(`Saga "${sagaId}": "${event.name}" lost ${MAX_CONFLICTS} write races in a row`);
  }

  /** An event of the inbox at its current version; an upcaster's failure fails the step for good. */
  private inboxEvent(inbox: string): EventEnvelope {
    const event = decodeEvent(inbox, this.eventClass);
    try {
      return this.upcast(event);
    } catch (error) {
      throw new UnrecoverableError(messageOf(error), { cause: error });
    }
  }

  /** Calls a step or compensation method; resolves with the state to store. */
  private async call(
    saga: ResolvedSaga,
    record: SagaRecord,
    method: string,
    context: ListenerContext,
    event: EventEnvelope | undefined,
  ): Promise<string> {
    const { input, state } = decodeSagaData(record.data, this.eventClass);
    const ctx = new StepContext(record.id, input, state, method, context, event);
    const result = (saga.instance[method] as (ctx: unknown) => unknown).call(saga.instance, ctx);
    // A sync step is not awaited: no promise and no turn of the microtask queue per step.
    if (isThenable(result)) await result;
    try {
      return encodeSagaData(
        saga.name,
        record.id,
        { input, state: ctx.state },
        'state',
        this.maxPayloadBytes,
      );
    } catch (error) {
      // Retrying would store the same state again: the step fails for good.
      if (error instanceof SagaDataError)
        throw new UnrecoverableError(error.message, { cause: error });
      throw error;
    }
  }
}
