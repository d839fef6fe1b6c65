import { Inject, Injectable } from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { SagaNotFoundError } from '../errors/saga-not-found.error.js';
import { SagaStatusError } from '../errors/saga-status.error.js';
import { assertInteger } from '../option-assertions.js';
import { MAX_EVENT_ID_LENGTH } from '../bus/event-envelope.factory.js';
import { createEventId } from '../event/event-id.js';
import { EVENTS_CLOCK, type EventsClock } from '../queue/clock.js';
import { EventVersions } from '../scheduling/event-versions.js';
import { SAGA_STORE } from './saga.constants.js';
import type { SagaStore } from './saga.store.js';
import { SagaCatalog } from './saga.catalog.js';
import { SagaJobs } from './saga-jobs.js';
import { SagaTransitions } from './saga-transitions.js';
import { SagaEngine } from './saga.engine.js';
import { recordFromHistory } from './saga-history.js';
import { decodeSagaData, encodeSagaData } from './saga-codec.js';
import {
  FINISHED,
  type SagaInfo,
  type SagaOutcome,
  type SagaRecord,
  type SagaStatus,
} from './saga-definition.js';

/**
 * Starts orchestrated sagas and looks after them: `start`, `execute`, `get`, `list`, `abort` and
 * `retry`.
 *
 * @example
 * const id = await sagas.start(OrderSaga, { orderId: 'o1' }, { id: 'o1' });
 * const { status, state } = await sagas.execute('order', { orderId: 'o2' });
 */
@Injectable()
export class SagaManager {
  /** @internal */
  readonly transitions: SagaTransitions;
  /** @internal */
  readonly engine: SagaEngine;
  private readonly eventClass: (name: string) => Function | undefined;

  constructor(
    @Inject(SAGA_STORE) private readonly store: SagaStore,
    @Inject(QUEUE_TRANSPORT) transport: QueueTransport,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
    private readonly catalog: SagaCatalog,
    bus: EventBus,
    registry: ListenerRegistry,
    @Inject(EVENTS_CLOCK) clock: EventsClock,
    versions: EventVersions,
  ) {
    this.eventClass = (name) => registry.eventClass(name);
    const jobs = new SagaJobs(
      transport,
      options.maxPayloadBytes,
      options.replication !== undefined,
    );
    this.transitions = new SagaTransitions(store, jobs, bus, this.eventClass, clock);
    this.engine = new SagaEngine(
      this.transitions,
      options.maxPayloadBytes,
      this.eventClass,
      (event) => versions.upcast(event),
    );
  }

  /**
   * Stores a new saga and its first job; resolves with its id once stored. Starting an id that
   * exists starts nothing and resolves with that id.
   *
   * @throws UnknownSagaError, SagaDataError (input that cannot be stored), InvalidOptionError (id)
   */
  async start(
    saga: Function | string,
    input: unknown,
    options: { id?: string } = {},
  ): Promise<string> {
    const id = this.idOf(options.id);
    await this.begin(saga, id, input);
    return id;
  }

  /**
   * `start`, then waits for the saga to end.
   *
   * @example
   * const { status, state, error } = await sagas.execute(OrderSaga, { orderId: 'o1' });
   */
  async execute<S = unknown>(
    saga: Function | string,
    input: unknown,
    options: { id?: string } = {},
  ): Promise<SagaOutcome<S>> {
    const id = this.idOf(options.id);
    // Waited for before the saga is stored: a saga that ends at once is not missed.
    const wait = this.transitions.endings.wait(id);
    try {
      // A saga that existed already may be over: read it now.
      if (!(await this.begin(saga, id, input))) wait.readNow();
    } catch (error) {
      wait.cancel();
      throw error;
    }
    const info = this.info<unknown, S>(await wait.ended);
    return { status: info.status as SagaOutcome['status'], state: info.state, error: info.error };
  }

  /** The id a saga is started with: `id`, checked, or a new one. */
  private idOf(id: string | undefined): string {
    if (id === undefined) return createEventId(this.transitions.clock.now());
    if (
      typeof id !== 'string' ||
      id.length === 0 ||
      id.length > MAX_EVENT_ID_LENGTH ||
      /[\s{}]/.test(id)
    ) {
      throw new InvalidOptionError(
        'id',
        id,
        `a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters, without spaces or braces`,
      );
    }
    return id;
  }

  /** Stores a new saga at its first step, with that step's job; false when the id exists. */
  private async begin(saga: Function | string, id: string, input: unknown): Promise<boolean> {
    const resolved = this.catalog.resolve(saga);
    const now = this.transitions.clock.now();
    const data = encodeSagaData(
      resolved.name,
      id,
      { input, state: {} },
      'input',
      this.options.maxPayloadBytes,
    );
    const record: SagaRecord = {
      id,
      name: resolved.name,
      status: 'running',
      step: 0,
      version: 0,
      data,
      history: [],
      inbox: {},
      createdAt: now,
      updatedAt: now,
    };
    // Stored at version 1, at its first step with that step's job (one write when the store can).
    if ((await this.transitions.begin(resolved, record)) === undefined) return false;
    await this.transitions.lifecycle(resolved, 'started', { sagaId: id, state: {} });
    if (resolved.timeout > 0) {
      await this.transitions.jobs.enqueue(
        resolved,
        'deadline',
        { sagaId: id, version: 0, index: 0 },
        resolved.timeout,
      );
    }
    return true;
  }

  /** The names of the orchestrated sagas this app defines, sorted. */
  names(): string[] {
    return this.catalog
      .all()
      .map((saga) => saga.name)
      .sort();
  }

  /** A saga by id, or undefined. */
  async get<I = unknown, S = unknown>(id: string): Promise<SagaInfo<I, S> | undefined> {
    const record = await this.store.get(id);
    return record && this.info<I, S>(record);
  }

  /** Sagas by creation time, oldest first. */
  async list(
    filter: { name?: string; status?: SagaStatus; offset?: number; limit?: number } = {},
  ): Promise<SagaInfo[]> {
    const offset = filter.offset ?? 0;
    const limit = filter.limit ?? 100;
    assertInteger('offset', offset, 0);
    assertInteger('limit', limit, 1, 10_000);
    const records = await this.store.list({
      name: filter.name,
      status: filter.status,
      offset,
      limit,
    });
    return records.map((r) => this.info(r));
  }

  /**
   * Compensates a running or waiting saga now. A saga already compensating is left as it is.
   *
   * @throws SagaNotFoundError; SagaStatusError for a saga that is over (nothing written).
   */
  async abort(id: string, reason: string): Promise<void> {
    const record = await this.require(id);
    const status = await this.engine.abort(this.catalog.resolve(record.name), id, reason);
    if (status !== undefined && status !== 'compensating') {
      throw new SagaStatusError(id, status, 'abort', 'running or waiting');
    }
  }

  /**
   * Resumes a `failed` saga: its compensation runs again from the step that failed.
   *
   * @throws SagaNotFoundError; SagaStatusError unless the saga is `failed` (nothing written).
   */
  async retry(id: string): Promise<void> {
    const record = await this.require(id);
    if (record.status !== 'failed') throw new SagaStatusError(id, record.status, 'retry', 'failed');
    const saga = this.catalog.resolve(record.name);
    const next = await this.transitions.advance(saga, record, { status: 'compensating' });
    if (next === undefined) throw new SagaStatusError(id, 'changing', 'retry', 'failed');
  }

  /**
   * @internal Stores a saga recorded elsewhere (`get` of a running system) and drives it on with
   * this code: `SagaScenario.resume`. Refuses a history the current steps no longer match.
   */
  async restore(info: SagaInfo): Promise<void> {
    const saga = this.catalog.resolve(info.name);
    const data = encodeSagaData(
      saga.name,
      info.id,
      { input: info.input, state: info.state },
      'state',
      this.options.maxPayloadBytes,
    );
    const record = recordFromHistory(saga, info, data, this.transitions.clock.now());
    if (!(await this.store.create(record))) {
      throw new SagaStatusError(info.id, 'stored already', 'restore', 'a new id');
    }
    await this.transitions.enqueueCurrent(saga, record);
  }

  private async require(id: string): Promise<SagaRecord> {
    const record = await this.store.get(id);
    if (record === undefined) throw new SagaNotFoundError(id);
    return record;
  }

  private info<I, S>(record: SagaRecord): SagaInfo<I, S> {
    const saga = this.catalog.get(record.name);
    const { input, state } = decodeSagaData(record.data, this.eventClass);
    const isOver = FINISHED.includes(record.status) && record.status !== 'failed';
    return {
      id: record.id,
      name: record.name,
      status: record.status,
      step: isOver ? undefined : saga?.steps[record.step]?.method,
      input: input as I,
      state: state as S,
      history: record.history,
      error: record.error,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }
}
