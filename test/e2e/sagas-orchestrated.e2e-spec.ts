import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  SagaDataError,
  SagaManager,
  SagaStatusError,
  UnknownSagaError,
  type EventsModuleOptions,
} from 'nestjs-events';
import { transportApps } from '../support/transport-apps.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { SAGA_STORE } from '../../lib/sagas/saga.constants.js';
import type { SagaStore } from '../../lib/sagas/saga.store.js';
import {
  DeadlineSaga,
  EarlyEventSaga,
  FourStepSaga,
  PaymentSaga,
  QuickWaitSaga,
  SagaEvents,
  SagaProbe,
  SignalSaga,
} from '../fixtures/saga.fixtures.js';

type Backend = 'memory' | 'redis' | 'postgres';
const backends: Backend[] = skipPostgres ? ['memory', 'redis'] : ['memory', 'redis', 'postgres'];

describe.each(backends)('Orchestrated sagas on %s', (backend) => {
  // The PostgreSQL store runs with the embedded transport: what is under test is its store.
  const apps = transportApps(backend === 'redis' ? 'redis' : 'memory', `sagas-${backend}`);
  let database: TestDatabase | undefined;
  let schemaSeq = 0;
  beforeAll(async () => {
    if (backend === 'postgres') database = await createTestDatabase();
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
  });
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    return () => vi.restoreAllMocks();
  });

  async function start(providers: Function[] = [FourStepSaga], extra: EventsModuleOptions = {}) {
    const base: EventsModuleOptions =
      backend === 'postgres'
        ? {
            sagas: {
              store: 'postgres',
              postgres: { connectionString: database!.url, schema: `sagas_${++schemaSeq}` },
            },
          }
        : {};
    const options = { ...base, ...extra };
    const app = await apps.start(
      { providers: [SagaProbe, SagaEvents, ...(providers as never[])] },
      options,
    );
    return {
      app,
      sagas: app.get(SagaManager),
      probe: app.get(SagaProbe),
      events: app.get(SagaEvents),
      bus: app.get(EventBus),
    };
  }

  it('runs every step in order, stores the state, emits started and completed', async () => {
    const { sagas, probe, events } = await start();
    const outcome = await sagas.execute(FourStepSaga, { n: 1 }, { id: 'happy' });
    expect(outcome).toEqual({ status: 'completed', state: { a: 1, b: 1, c: 1, d: 1 } });
    expect(probe.calls).toEqual(['a', 'b', 'c', 'd']);
    const info = await sagas.get('happy');
    expect(info?.status).toBe('completed');
    expect(info?.step).toBeUndefined();
    expect(info?.history.map((h) => `${h.step}:${h.outcome}`)).toEqual([
      'a:completed',
      'b:completed',
      'c:completed',
      'd:completed',
    ]);
    await waitFor(() => events.named('saga.four.completed').length === 1);
    expect(events.named('saga.four.started')[0].data).toEqual({ sagaId: 'happy', state: {} });
    expect(events.named('saga.four.completed')[0].data).toEqual({
      sagaId: 'happy',
      state: { a: 1, b: 1, c: 1, d: 1 },
    });
    expect(events.named('step.a')[0].metadata.sagaId).toBe('happy');
  });

  it.each([
    ['a', [], 2],
    ['b', ['undoA'], 3],
    ['c', ['undoB', 'undoA'], 2],
    ['d', ['undoB', 'undoA'], 2],
  ] as const)(
    'a failure at %s compensates exactly the completed steps, in reverse, after its tries',
    async (failAt, undone, tries) => {
      const { sagas, probe, events } = await start();
      probe.failing.add(failAt);
      const id = `fail-${failAt}`;
      const outcome = await sagas.execute('four', { n: 2 }, { id });
      expect(outcome.status).toBe('compensated');
      expect(outcome.error).toContain(`${failAt} failed`);
      const steps = ['a', 'b', 'c', 'd'];
      const done = steps.slice(0, steps.indexOf(failAt));
      expect(probe.calls).toEqual([...done, ...undone]);
      expect(probe.attemptsOf(id, failAt)).toEqual(Array.from({ length: tries }, (_, i) => i + 1));
      await waitFor(() => events.named('saga.four.compensated').length === 1);
      expect((await sagas.list({ status: 'compensated' })).map((s) => s.id)).toEqual([id]);
    },
  );

  it('retries a flaky step exactly as often as it fails; UnrecoverableError skips retries', async () => {
    const { sagas, probe } = await start();
    probe.flaky.set('b', 2);
    expect((await sagas.execute(FourStepSaga, { n: 3 }, { id: 'flaky' })).status).toBe('completed');
    expect(probe.attemptsOf('flaky', 'b')).toEqual([1, 2, 3]);
    probe.unrecoverable = 'b';
    expect((await sagas.execute(FourStepSaga, { n: 3 }, { id: 'unrec' })).status).toBe(
      'compensated',
    );
    expect(probe.attemptsOf('unrec', 'b')).toEqual([1]);
  });

  it('a compensation out of tries leaves the saga failed, listed, and retry finishes it', async () => {
    const { sagas, probe, events } = await start();
    probe.failing.add('c');
    probe.failing.add('undoA');
    const outcome = await sagas.execute(FourStepSaga, { n: 4 }, { id: 'stuck' });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('undoA failed');
    expect(probe.attemptsOf('stuck', 'undoA')).toEqual([1, 2]);
    expect((await sagas.list({ name: 'four', status: 'failed' })).map((s) => s.id)).toEqual([
      'stuck',
    ]);
    await waitFor(() => events.named('saga.four.failed').length === 1);
    probe.failing.delete('undoA');
    await sagas.retry('stuck');
    await waitFor(async () => (await sagas.get('stuck'))?.status === 'compensated');
    expect(probe.calls).toEqual(['a', 'b', 'undoB', 'undoA']);
    await expect(sagas.retry('stuck')).rejects.toBeInstanceOf(SagaStatusError);
  });

  it('100 concurrent starts with one id make one saga', async () => {
    const { sagas, probe, events } = await start();
    const ids = await Promise.all(
      Array.from({ length: 100 }, () => sagas.start(FourStepSaga, { n: 5 }, { id: 'once' })),
    );
    expect(new Set(ids)).toEqual(new Set(['once']));
    await waitFor(async () => (await sagas.get('once'))?.status === 'completed');
    expect(probe.calls).toEqual(['a', 'b', 'c', 'd']);
    expect(await sagas.list()).toHaveLength(1);
    expect(events.named('saga.four.started')).toHaveLength(1);
  });

  it('startOn starts one saga per key; waitFor resumes it with its event', async () => {
    const { sagas, probe, bus } = await start([PaymentSaga]);
    await bus.emit('order.placed', { orderId: 'o1' });
    await bus.emit('order.placed', { orderId: 'o1' });
    await waitFor(async () => (await sagas.get('o1'))?.status === 'waiting');
    expect((await sagas.get('o1'))?.step).toBe('captured');
    const captured = await bus.emit('payment.captured', { orderId: 'o1', amount: 10 });
    await waitFor(async () => (await sagas.get('o1'))?.status === 'completed');
    expect(probe.received?.id).toBe(captured.id);
    expect(probe.calls).toEqual(['reserve', 'captured', 'confirm']);
    expect(await sagas.list({ name: 'payment' })).toHaveLength(1);
  });

  it('an event that comes before its waitFor step is kept for it', async () => {
    const { sagas, probe, bus } = await start([PaymentSaga]);
    await bus.emit('payment.captured', { orderId: 'early' }).catch(() => undefined);
    await sagas.start(PaymentSaga, { orderId: 'o2' }, { id: 'o2' });
    await bus.emit('payment.captured', { orderId: 'o2' });
    await waitFor(async () => (await sagas.get('o2'))?.status === 'completed');
    expect(probe.calls).toEqual(['reserve', 'captured', 'confirm']);
  });

  it("an event for a later waitFor step, arriving while a step runs, keeps that step's result", async () => {
    // Two jobs at once: the event's job runs while the step's job does.
    const { app, sagas, bus } = await start([EarlyEventSaga], { worker: { concurrency: 2 } });
    const saga = app.get(EarlyEventSaga);
    const store = app.get<SagaStore>(SAGA_STORE);
    await sagas.start(EarlyEventSaga, {}, { id: 'e1' });
    await saga.entered;
    const early = await bus.emit('early.arrived', { id: 'e1' });
    // Kept in the inbox while `first` still runs: the record moved on under the running step.
    await waitFor(async () => (await store.get('e1'))?.inbox['1'] !== undefined);
    saga.release();
    await waitFor(async () => (await sagas.get('e1'))?.status === 'completed');
    expect((await sagas.get('e1'))?.state).toEqual({ first: true, second: early.id });
    expect(saga.runs).toEqual(['first', 'second']);
  });

  it('the job that ends a saga frees its worker slot before the store marks the saga ended', async () => {
    // One job at a time: a slot held until the mark would keep the second saga from running.
    const { app, sagas, events } = await start([FourStepSaga], { worker: { concurrency: 1 } });
    const store = app.get<SagaStore>(SAGA_STORE);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const ended = store.ended.bind(store);
    const marked: string[] = [];
    vi.spyOn(store, 'ended').mockImplementation(async (id) => {
      if (id === 'first') await held;
      await ended(id);
      marked.push(id);
    });
    try {
      await sagas.start(FourStepSaga, { n: 7 }, { id: 'first' });
      await waitFor(async () => (await sagas.get('first'))?.status === 'completed');
      await sagas.start(FourStepSaga, { n: 8 }, { id: 'second' });
      await waitFor(() => marked.includes('second'));
      expect(marked).toEqual(['second']);
    } finally {
      release();
    }
    await waitFor(() => marked.includes('first'));
    expect(events.named('saga.four.completed')).toHaveLength(2);
  });

  it('a waitFor timeout fails the step and compensates; a saga timeout compensates', async () => {
    const { sagas, probe } = await start([QuickWaitSaga, DeadlineSaga]);
    const startedAt = Date.now();
    const quick = await sagas.execute(QuickWaitSaga, {}, { id: 'q1' });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(200);
    expect(quick.status).toBe('compensated');
    expect(quick.error).toContain('timeout of 200 ms');
    const late = await sagas.execute(DeadlineSaga, {}, { id: 'd1' });
    expect(late.status).toBe('compensated');
    expect(late.error).toContain('did not finish within its timeout of 150 ms');
    expect(probe.calls).toEqual(['reserve', 'release', 'first', 'undo']);
  });

  it("a step's ctx.signal fires on the step's timeout, on each attempt", async () => {
    const app = await start([SignalSaga]);
    const outcome = await app.sagas.execute(SignalSaga, {}, { id: 'sig' });
    expect(outcome.status).toBe('compensated');
    const saga = app.app.get(SignalSaga);
    expect(saga.seen.map(({ attempt, stepKey }) => ({ attempt, stepKey }))).toEqual([
      { attempt: 1, stepKey: 'sig:slow' },
      { attempt: 2, stepKey: 'sig:slow' },
    ]);
    for (const { reason } of saga.seen) expect(String(reason)).toContain('100 ms');
  });

  it('abort compensates a waiting saga; abort of a finished saga is refused and writes nothing', async () => {
    const { sagas, probe } = await start([PaymentSaga]);
    await sagas.start(PaymentSaga, { orderId: 'a1' }, { id: 'a1' });
    await waitFor(async () => (await sagas.get('a1'))?.status === 'waiting');
    await sagas.abort('a1', 'customer cancelled');
    await waitFor(async () => (await sagas.get('a1'))?.status === 'compensated');
    expect(probe.calls).toEqual(['reserve', 'release']);
    const before = await sagas.get('a1');
    await expect(sagas.abort('a1', 'again')).rejects.toBeInstanceOf(SagaStatusError);
    expect(await sagas.get('a1')).toEqual(before);
    expect(before?.error).toBe('aborted: customer cancelled');
  });

  it('refuses an unknown saga and unserializable input, writing nothing; bad state fails the step', async () => {
    const { sagas, probe } = await start();
    await expect(sagas.start('nope', {})).rejects.toBeInstanceOf(UnknownSagaError);
    await expect(sagas.start(FourStepSaga, { fn: () => 1 }, { id: 'x' })).rejects.toBeInstanceOf(
      SagaDataError,
    );
    expect(await sagas.list()).toEqual([]);
    probe.unserializableAt = 'b';
    const outcome = await sagas.execute(FourStepSaga, { n: 6 }, { id: `bad-${randomUUID()}` });
    expect(outcome.status).toBe('compensated');
    expect(outcome.error).toContain('state cannot be stored');
    expect(probe.calls).toEqual(['a', 'b', 'undoA']);
  });
});
