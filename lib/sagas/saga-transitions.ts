import { Logger } from '@nestjs/common';
import type { EventBus } from '../bus/event-bus.js';
import type { UntypedEmits } from '../bus/around.js';
import type { EventsClock } from '../queue/clock.js';
import type { SagaStore } from './saga.store.js';
import type { SagaJobs } from './saga-jobs.js';
import type { NewJob } from '../queue/queue-job.js';
import { decodeSagaData } from './saga-codec.js';
import { SagaEndings } from './saga-endings.js';
import {
  FINISHED,
  type ResolvedSaga,
  type SagaRecord,
  type SagaStepRecord,
} from './saga-definition.js';

/** A change of a saga record: what differs from the version read. */
export type SagaPatch = Partial<
  Pick<SagaRecord, 'status' | 'step' | 'data' | 'error' | 'inbox'>
> & {
  readonly history?: SagaStepRecord;
};

/**
 * Writes saga transitions: a record at the next version (refused when another write came first)
 * with the job of what comes next, then the lifecycle event of a saga that ended. A job due now
 * is stored in the record's own atomic write when the store can (`SagaStore.updateWithJob`);
 * otherwise (a delayed job, a Redis Cluster, another store) after the record: a process that dies
 * in between leaves a saga with no job, which the sweeper finds (job ids are deduplicated, so
 * enqueueing twice stores one).
 */
export class SagaTransitions {
  private readonly logger = new Logger('Sagas');
  /** The sagas `execute` awaits: woken here by the sagas this process ends. */
  readonly endings: SagaEndings;
  /** `store.ended` calls not yet answered (see `finished`). */
  private readonly marking = new Set<Promise<void>>();

  constructor(
    readonly store: SagaStore,
    readonly jobs: SagaJobs,
    private readonly bus: EventBus,
    private readonly eventClass: (name: string) => Function | undefined,
    readonly clock: EventsClock,
  ) {
    this.endings = new SagaEndings(store);
  }

  /** The record after `patch`, stored if `record` is still the stored version; else undefined. */
  async write(record: SagaRecord, patch: SagaPatch): Promise<SagaRecord | undefined> {
    const next = this.next(record, patch);
    return (await this.store.update(next, record.version)) ? next : undefined;
  }

  /** `write`, and the job the saga then needs (see the class comment); undefined if refused. */
  async advance(
    saga: ResolvedSaga,
    record: SagaRecord,
    patch: SagaPatch,
  ): Promise<SagaRecord | undefined> {
    const next = this.next(record, patch);
    const job = this.jobOf(saga, next);
    const { store } = this;
    if (job?.delayMs === 0 && store.updateWithJob && this.jobs.isSharedWrite) {
      return (await store.updateWithJob(next, record.version, job)) ? next : undefined;
    }
    if (!(await store.update(next, record.version))) return undefined;
    if (job !== undefined) await this.jobs.store(job);
    return next;
  }

  /**
   * Stores a new saga (`record`, version 0, not stored) already moved to its first step, with
   * that step's job, in one write when the store can (see the class comment). Resolves with the
   * stored record, or undefined (nothing written) when the id exists.
   */
  async begin(saga: ResolvedSaga, record: SagaRecord): Promise<SagaRecord | undefined> {
    const first = this.next(record, this.at(saga, record, 0, {}));
    const job = this.jobOf(saga, first);
    const { store } = this;
    if (job?.delayMs === 0 && store.createWithJob && this.jobs.isSharedWrite) {
      return (await store.createWithJob(first, job)) ? first : undefined;
    }
    if (!(await store.create(first))) return undefined;
    if (job !== undefined) await this.jobs.store(job);
    return first;
  }

  /** `record` after `patch`, at the next version: one object per write (a step makes one). */
  private next(record: SagaRecord, patch: SagaPatch): SagaRecord {
    const { history } = patch;
    return {
      id: record.id,
      name: record.name,
      status: patch.status ?? record.status,
      step: patch.step ?? record.step,
      version: record.version + 1,
      data: patch.data ?? record.data,
      history: history ? [...record.history, history] : record.history,
      // A patch that names `error` sets it (an undefined one is not stored).
      error: 'error' in patch ? patch.error : record.error,
      inbox: patch.inbox ?? record.inbox,
      createdAt: record.createdAt,
      updatedAt: this.clock.now(),
    };
  }

  /**
   * Moves `record` to step `index` (or to the end) and stores its next job: a step job, or for a
   * `waitFor` step with no event yet, the wait and its timeout.
   */
  async forward(
    saga: ResolvedSaga,
    record: SagaRecord,
    index: number,
    patch: SagaPatch,
  ): Promise<SagaRecord | undefined> {
    if (index >= saga.steps.length) {
      const done = await this.write(record, { ...patch, status: 'completed', step: index });
      if (done) await this.finished(saga, done);
      return done;
    }
    return this.advance(saga, record, this.at(saga, record, index, patch));
  }

  /** `patch` moving `record` to step `index`: running it, or waiting for its event. */
  private at(saga: ResolvedSaga, record: SagaRecord, index: number, patch: SagaPatch): SagaPatch {
    const step = saga.steps[index];
    const inbox = patch.inbox ?? record.inbox;
    const isWaiting = step.waitFor !== undefined && inbox[index] === undefined;
    return { ...patch, status: isWaiting ? 'waiting' : 'running', step: index };
  }

  /** Stores the job a saga in this state needs (also what the sweeper calls). */
  async enqueueCurrent(saga: ResolvedSaga, record: SagaRecord): Promise<void> {
    const job = this.jobOf(saga, record);
    if (job !== undefined) await this.jobs.store(job);
  }

  /** The job a saga in this state needs: none when it ended or waits with no timeout. */
  private jobOf(saga: ResolvedSaga, record: SagaRecord): NewJob | undefined {
    const data = { sagaId: record.id, version: record.version, index: record.step };
    if (record.status === 'running') return this.jobs.job(saga, 'step', data);
    if (record.status === 'compensating') return this.jobs.job(saga, 'undo', data);
    if (record.status === 'waiting') {
      const timeout = saga.steps[record.step].timeout;
      if (timeout === 0) return undefined;
      const dueIn = Math.max(0, record.updatedAt + timeout - this.clock.now());
      return this.jobs.job(saga, 'wait', data, dueIn);
    }
    return undefined;
  }

  /**
   * Undoes the completed steps up to `from` (included), last first: the saga goes to the highest
   * one with a `compensate`, or straight to `compensated` when there is none.
   */
  async compensateFrom(
    saga: ResolvedSaga,
    record: SagaRecord,
    from: number,
    patch: SagaPatch,
  ): Promise<SagaRecord | undefined> {
    let index = from;
    while (index >= 0 && saga.steps[index].compensate === undefined) index--;
    if (index < 0) {
      const done = await this.write(record, { ...patch, status: 'compensated', step: -1 });
      if (done) await this.finished(saga, done);
      return done;
    }
    return this.advance(saga, record, { ...patch, status: 'compensating', step: index });
  }

  /**
   * A saga that reached `completed`, `compensated` or `failed`: its ending event. The final write
   * left the saga active in the store; it leaves once the event is out. A process that dies in
   * between (or an emit refused) leaves it active, and the sweeper calls this again: the event's
   * id is fixed per saga version, so a queued listener gets it once (the dedupe window).
   */
  async finished(saga: ResolvedSaga, record: SagaRecord): Promise<void> {
    if (!FINISHED.includes(record.status)) return;
    this.endings.ended(record);
    const { state } = decodeSagaData(record.data, this.eventClass);
    const data: Record<string, unknown> = { sagaId: record.id, state };
    if (record.error !== undefined) data.error = record.error;
    const id = `${record.id}:${record.version}:${record.status}`;
    if (!(await this.lifecycle(saga, record.status, data, id))) return;
    // Not awaited: the job that ended the saga frees its worker slot now, not a round trip
    // later. Marks still under way when the app closes are awaited first (`settled`).
    const marked: Promise<void> = this.store.ended(record.id).then(
      () => void this.marking.delete(marked),
      (error: unknown) => {
        this.marking.delete(marked);
        // Still active: the sweeper emits it again, with the same id.
        this.logger.warn(`Saga ${saga.name} "${record.id}": not marked ended: ${String(error)}`);
      },
    );
    this.marking.add(marked);
  }

  /** Waits for the `ended` marks under way (`finished`): before the store closes. */
  async settled(): Promise<void> {
    await Promise.all(this.marking);
  }

  /**
   * Emits `saga.<name>.<what>` (with `id`, when given); a refused emit is logged (the transition
   * is stored already). Resolves with whether it was emitted.
   */
  async lifecycle(
    saga: ResolvedSaga,
    what: string,
    data: Record<string, unknown>,
    id?: string,
  ): Promise<boolean> {
    const metadata = { sagaId: String(data.sagaId) };
    try {
      await (this.bus as unknown as UntypedEmits).emit(
        `saga.${saga.name}.${what}`,
        data,
        id === undefined ? { metadata } : { id, metadata },
      );
      return true;
    } catch (error) {
      this.logger.error(
        `Saga ${saga.name} "${String(data.sagaId)}": saga.${saga.name}.${what} could not be emitted: ${String(error)}`,
      );
      return false;
    }
  }
}
