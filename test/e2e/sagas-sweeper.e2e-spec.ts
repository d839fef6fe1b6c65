import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SagaManager, TransportError } from 'nestjs-events';
import { QUEUE_TRANSPORT } from '../../lib/events.constants.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import type { NewJob } from '../../lib/queue/queue-job.js';
import { RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { encodeSagaData } from '../../lib/sagas/saga-codec.js';
import { SAGA_STORE } from '../../lib/sagas/saga.constants.js';
import type { SagaStore } from '../../lib/sagas/saga.store.js';
import { SagaSweeper } from '../../lib/sagas/saga.sweeper.js';
import { createTestApp } from '../support/create-test-app.js';
import { transportApps } from '../support/transport-apps.js';
import { waitFor } from '../support/wait-for.js';
import { FourStepSaga, SagaEvents, SagaProbe } from '../fixtures/saga.fixtures.js';

const ONE_MINUTE = 60_000;

function silenceLogs() {
  vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  return () => vi.restoreAllMocks();
}

async function startApp(apps: ReturnType<typeof transportApps>) {
  // No sweeper timer: each test sweeps by hand, so a sweep is never the reason a saga moved.
  const app = await apps.start(
    { providers: [SagaProbe, SagaEvents, FourStepSaga] },
    { sagas: { sweepInterval: 0, sweepAfter: ONE_MINUTE } },
  );
  return {
    sagas: app.get(SagaManager),
    probe: app.get(SagaProbe),
    store: app.get<SagaStore>(SAGA_STORE),
    sweeper: app.get(SagaSweeper),
    transport: app.get<QueueTransport>(QUEUE_TRANSPORT),
  };
}

describe.each(['memory', 'redis'] as const)('Saga sweeper on %s', (kind) => {
  const apps = transportApps(kind, 'saga-sweeper');
  beforeEach(silenceLogs);

  it('stores the missing job of a saga whose state advanced without it, once', async () => {
    const { sagas, probe, store, sweeper } = await startApp(apps);
    // A process wrote step c's state and died before storing c's job: nothing drives the saga.
    const at = Date.now() - 2 * ONE_MINUTE;
    const data = encodeSagaData(
      'four',
      'lost',
      { input: { n: 1 }, state: { a: 1, b: 1 } },
      'state',
      1e6,
    );
    const history = ['a', 'b'].map((step) => ({ step, outcome: 'completed' as const, at }));
    expect(
      await store.create({
        id: 'lost',
        name: 'four',
        status: 'running',
        step: 2,
        version: 3,
        data,
        history,
        inbox: {},
        createdAt: at,
        updatedAt: at,
      }),
    ).toBe(true);

    // Two sweeps before the worker can have moved the saga on: the job is stored once.
    expect(await sweeper.sweep()).toBe(1);
    await sweeper.sweep();
    await waitFor(async () => (await sagas.get('lost'))?.status === 'completed');
    expect(await sweeper.sweep()).toBe(0);

    expect(probe.calls).toEqual(['c', 'd']);
    expect(probe.attemptsOf('lost', 'c')).toEqual([1]);
    expect(probe.attemptsOf('lost', 'd')).toEqual([1]);
    const info = await sagas.get('lost');
    expect(info?.state).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    expect(info?.history.map((h) => h.step)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('leaves alone a saga idle for less than sweepAfter, and a saga that ended', async () => {
    const { sagas, probe, store, sweeper } = await startApp(apps);
    await sagas.execute(FourStepSaga, { n: 1 }, { id: 'done' });
    const data = encodeSagaData('four', 'fresh', { input: { n: 1 }, state: {} }, 'state', 1e6);
    const now = Date.now();
    await store.create({
      id: 'fresh',
      name: 'four',
      status: 'running',
      step: 0,
      version: 1,
      data,
      history: [],
      inbox: {},
      createdAt: now,
      updatedAt: now,
    });
    expect(await sweeper.sweep()).toBe(0);
    expect(probe.calls).toEqual(['a', 'b', 'c', 'd']);
    expect((await sagas.get('fresh'))?.status).toBe('running');
  });
});

describe('Saga transitions on Redis: the state and its next job in one write', () => {
  const apps = transportApps('redis', 'saga-atomic');
  let admin: Redis | undefined;
  beforeEach(silenceLogs);
  afterEach(() => {
    admin?.disconnect();
    admin = undefined;
  });

  it('a transport that fails between the two writes cannot leave a saga advanced without its job', async () => {
    const { sagas, probe, transport } = await startApp(apps);
    // Storing a step job apart from its saga's write fails: only a job written with the saga
    // itself gets stored. Two separate writes would leave each saga advanced with no job.
    const enqueue = transport.enqueue.bind(transport);
    vi.spyOn(transport, 'enqueue').mockImplementation((jobs: readonly NewJob[]) =>
      jobs.some((job) => job.listener.startsWith('saga:four:step:'))
        ? Promise.reject(new TransportError('connection lost after the saga was written'))
        : enqueue(jobs),
    );
    const ids = Array.from({ length: 10 }, (_, i) => `s${i}`);
    await Promise.all(ids.map((id) => sagas.start(FourStepSaga, { n: 1 }, { id })));
    for (const id of ids) {
      await waitFor(async () => (await sagas.get(id))?.status === 'completed');
      for (const step of ['a', 'b', 'c', 'd']) expect(probe.attemptsOf(id, step)).toEqual([1]);
    }
  });

  it('stores neither a new saga nor its first job when the job cannot be stored', async () => {
    const { sagas, probe } = await startApp(apps);
    const prefix = apps.prefix!;
    admin = new Redis(apps.server!.url);
    // The saga queue's stream holds a string: the job's XADD would fail.
    const stream = new RedisKeys(prefix).queue('sagas').stream;
    await admin.set(stream, 'not a stream');
    await expect(sagas.start(FourStepSaga, { n: 1 }, { id: 'refused' })).rejects.toThrow(
      /WRONGTYPE/,
    );
    // Nothing of the saga: no record, not listed, not active, no job id remembered.
    expect(await admin.exists(`{${prefix}:sagas}:r:refused`)).toBe(0);
    expect(await admin.zscore(`{${prefix}:sagas}:all`, 'refused')).toBeNull();
    expect(await admin.zscore(`{${prefix}:sagas}:active`, 'refused')).toBeNull();
    const firstJob = 'refused:1:step:saga:four:step:0';
    expect(await admin.exists(new RedisKeys(prefix).seen('sagas', firstJob))).toBe(0);

    // Once the queue is sound, the same id starts the saga.
    await admin.del(stream);
    const outcome = await sagas.execute(FourStepSaga, { n: 1 }, { id: 'refused' });
    expect(outcome.status).toBe('completed');
    expect(probe.calls).toEqual(['a', 'b', 'c', 'd']);
  });

  it('writes neither the state nor the job of a transition whose job cannot be stored', async () => {
    const { store } = await startApp(apps);
    const prefix = apps.prefix!;
    admin = new Redis(apps.server!.url);
    const keys = new RedisKeys(prefix);
    const data = encodeSagaData('four', 'moved', { input: { n: 1 }, state: {} }, 'state', 1e6);
    const at = Date.now();
    const record = {
      id: 'moved',
      name: 'four',
      status: 'running' as const,
      step: 0,
      version: 1,
      data,
      history: [],
      inbox: {},
      createdAt: at,
      updatedAt: at,
    };
    expect(await store.create(record)).toBe(true);
    const job: NewJob = {
      id: 'moved:2:step:saga:four:step:1',
      queue: 'other',
      listener: 'saga:four:step:1',
      payload: '{}',
      delayMs: 0,
      eventId: 'moved:2:step',
      isDeduplicated: true,
    };
    const next = { ...record, step: 1, version: 2 };
    // First the queue index, then the stream, hold another type.
    for (const broken of [keys.queues, keys.queue('other').stream]) {
      await admin.set(broken, 'not a set or stream');
      await expect(store.updateWithJob!(next, 1, job)).rejects.toThrow(/WRONGTYPE/);
      expect(await admin.hget(`{${prefix}:sagas}:r:moved`, 'v')).toBe('1');
      expect(await admin.exists(keys.seen('other', job.id))).toBe(0);
      await admin.del(broken);
    }
    expect(await store.updateWithJob!(next, 1, job)).toBe(true);
    expect(await admin.hget(`{${prefix}:sagas}:r:moved`, 'v')).toBe('2');
    expect(await admin.xlen(keys.queue('other').stream)).toBe(1);
    expect(await admin.sismember(keys.queues, 'other')).toBe(1);
  });

  it('costs no TYPE check, lists the queue once, and execute reads no record of a saga ended here', async () => {
    const { sagas, store } = await startApp(apps);
    admin = new Redis(apps.server!.url);
    // Lists the saga queue and loads the scripts.
    await sagas.execute(FourStepSaga, { n: 1 }, { id: 'first' });
    const reads = vi.spyOn(store, 'get');
    await admin.config('RESETSTAT');
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const outcomes = await Promise.all(
      ids.map((id) => sagas.execute(FourStepSaga, { n: 1 }, { id })),
    );
    expect(outcomes.map((o) => o.status)).toEqual(ids.map(() => 'completed'));
    const stats = await admin.info('commandstats');
    expect(stats).not.toMatch(/^cmdstat_type:/m);
    expect(stats).not.toMatch(/^cmdstat_sadd:/m);
    // Each of the 4 step jobs reads its saga once; execute is handed the record that ended it
    // (a rare extra read when a poll crosses the end is allowed for).
    expect(reads.mock.calls.length).toBeGreaterThanOrEqual(4 * ids.length);
    expect(reads.mock.calls.length).toBeLessThan(5 * ids.length);
  });

  it('execute finds a saga that another process ended', async () => {
    const { sagas: worker } = await startApp(apps);
    // This app runs no worker: the saga's steps all run in the other one.
    const caller = await createTestApp(
      { providers: [SagaProbe, SagaEvents, FourStepSaga] },
      {
        redis: apps.server!.url,
        prefix: apps.prefix!,
        worker: false,
        sagas: { sweepInterval: 0, sweepAfter: ONE_MINUTE },
      },
    );
    try {
      const done = await caller
        .get(SagaManager)
        .execute(FourStepSaga, { n: 1 }, { id: 'elsewhere' });
      expect(done.status).toBe('completed');
      expect(done.state).toEqual({ a: 1, b: 1, c: 1, d: 1 });
      expect(caller.get(SagaProbe).calls).toEqual([]);
      expect((await worker.get('elsewhere'))?.status).toBe('completed');
    } finally {
      await caller.close();
    }
  });
});
