import { Logger, type INestApplicationContext, type Type } from '@nestjs/common';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventValidationError,
  JobTimeoutError,
  ListenersFailedError,
  Logging,
  type EventsModuleOptions,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import {
  BehaviourListeners,
  LifecycleListeners,
  MiddlewareProbe,
  OrderedListeners,
  PlainListeners,
  RecordingMiddleware,
  UserRegistered,
  ValidationListeners,
  pathSegment,
} from '../fixtures/middleware.fixtures.js';
import { runCoordinatedMiddlewareSuite } from '../fixtures/middleware.suite.js';

describe('middleware (embedded transport)', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.close();
    app = undefined;
  });

  async function start(providers: Type[], options: EventsModuleOptions = {}) {
    app = await createTestApp(
      { providers: [MiddlewareProbe, RecordingMiddleware, ...providers] },
      { middleware: [RecordingMiddleware, pathSegment('global2')], ...options },
    );
    return {
      bus: app.get(EventBus),
      probe: app.get(MiddlewareProbe),
      queues: app.get(EventQueues),
    };
  }

  async function settled(queues: EventQueues, queue: string) {
    await waitFor(async () => {
      const c = await queues.counts(queue);
      return c.waiting + c.delayed + c.active === 0;
    });
    return queues.counts(queue);
  }

  describe('chain', () => {
    it('runs global, then class, then method middleware, in-process and queued', async () => {
      const { bus, probe } = await start([OrderedListeners, PlainListeners]);
      await bus.emit('mw.ordered', {});
      await waitFor(
        () => probe.callsOf('queued').length === 1 && probe.callsOf('followup').length === 1,
      );
      expect(probe.callsOf('inProcess')[0].event.metadata.path).toBe(
        'global>global2>class>method1>method2',
      );
      expect(probe.callsOf('queued')[0].event.metadata.path).toBe('global>global2>class>method');
    });

    it('gives each listener its own metadata: others do not see changes, emits inherit them', async () => {
      const { bus, probe } = await start([OrderedListeners, PlainListeners]);
      const emitted = await bus.emit('mw.ordered', {});
      await waitFor(() => probe.callsOf('followup').length === 1);
      expect(emitted.metadata.path).toBeUndefined();
      // Only the global middleware wrap the plain listener.
      expect(probe.callsOf('plain')[0].event.metadata.path).toBe('global>global2');
      // The event emitted by the listener inherits what its middleware set (then its own chain runs).
      expect(probe.callsOf('followup')[0].event.metadata.path).toBe(
        'global>global2>class>method1>method2>global>global2>class',
      );
    });

    it('resolves middleware classes with DI', async () => {
      const { bus, probe } = await start([OrderedListeners]);
      await bus.emit('mw.ordered', {});
      await waitFor(() => probe.callsOf('queued').length === 1);
      // RecordingMiddleware got the app's MiddlewareProbe injected.
      expect(probe.steps).toEqual(
        expect.arrayContaining(['OrderedListeners.inProcess#1', 'OrderedListeners.queued#1']),
      );
    });

    it('skips the listener when a middleware does not call next; a skipped job completes', async () => {
      const { bus, probe, queues } = await start([BehaviourListeners]);
      await bus.emitAsync('mw.skip', { skip: true });
      await bus.emitAsync('mw.skip', { skip: false });
      const counts = await settled(queues, 'mw');
      expect(probe.callsOf('skipInProcess').map((c) => c.event.data)).toEqual([{ skip: false }]);
      expect(probe.callsOf('skipQueued').map((c) => c.event.data)).toEqual([{ skip: false }]);
      expect(counts).toMatchObject({ completed: 2, failed: 0, dead: 0 });
    });

    it('fails the attempt when a middleware throws: reported in-process, retried then dead-lettered when queued', async () => {
      const { bus, probe, queues } = await start([BehaviourListeners]);
      const rejected = await bus.emitAsync('mw.throw', {}).catch((e: unknown) => e);
      expect(rejected).toBeInstanceOf(ListenersFailedError);
      expect((rejected as ListenersFailedError).failures[0]).toMatchObject({
        listener: 'BehaviourListeners.throwInProcess',
        error: expect.objectContaining({ message: 'refused by middleware' }),
      });
      await waitFor(() => probe.failures.length === 1);
      const counts = await settled(queues, 'mw');
      expect(counts).toMatchObject({ failed: 3, dead: 1, completed: 0 });
      const [dead] = await queues.listDead('mw');
      expect(dead).toMatchObject({ attempts: 3, reason: 'failed', error: 'refused by middleware' });
      expect(probe.steps.filter((s) => s.startsWith('BehaviourListeners.throwQueued'))).toEqual([
        'BehaviourListeners.throwQueued#1',
        'BehaviourListeners.throwQueued#2',
        'BehaviourListeners.throwQueued#3',
      ]);
      expect(probe.calls).toEqual([]);
    });

    it('context.release() puts a queued job back without counting the attempt, and makes an in-process call wait', async () => {
      const { bus, probe, queues } = await start([BehaviourListeners]);
      await bus.emitAsync('mw.release', {});
      // emitAsync resolved after the released in-process call ran again.
      expect(probe.callsOf('releaseInProcess')).toHaveLength(1);
      await waitFor(() => probe.callsOf('releaseQueued').length === 1);
      const counts = await settled(queues, 'mw');
      // tries: 1, yet the job ran after a release: the release did not use up the attempt.
      expect(probe.callsOf('releaseQueued')[0].context.attempt).toBe(1);
      expect(counts).toMatchObject({ completed: 1, failed: 0, dead: 0 });
      expect(probe.releases.map((r) => [r.listener, r.delayMs, r.attempt])).toEqual(
        expect.arrayContaining([
          ['BehaviourListeners.releaseInProcess', 20, 1],
          ['BehaviourListeners.releaseQueued', 20, 1],
        ]),
      );
    });
  });

  describe('built-ins', () => {
    it('Timeout fails a slow attempt with JobTimeoutError and aborts the listener signal', async () => {
      const { bus, probe, queues } = await start([BehaviourListeners]);
      const aborted: unknown[] = [];
      const untilAborted = (_event: unknown, { signal }: { signal: AbortSignal }) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted.push(signal.reason);
            resolve(undefined);
          });
        });
      probe.set('timeoutInProcess', untilAborted);
      probe.set('timeoutQueued', untilAborted);
      const rejected = await bus.emitAsync('mw.timeout', {}).catch((e: unknown) => e);
      expect((rejected as ListenersFailedError).failures[0].error).toBeInstanceOf(JobTimeoutError);
      await waitFor(() => probe.failures.length === 1);
      const counts = await settled(queues, 'mw');
      expect(counts).toMatchObject({ failed: 2, dead: 1 });
      expect((await queues.listDead('mw'))[0]).toMatchObject({ reason: 'timeout', attempts: 2 });
      expect(aborted).toHaveLength(3);
      for (const reason of aborted) expect(reason).toBeInstanceOf(JobTimeoutError);
    });

    it('Throttle makes an in-process call over the limit wait (nothing is dropped)', async () => {
      const { bus, probe } = await start([BehaviourListeners]);
      await Promise.all([
        bus.emitAsync('mw.throttled', { n: 1 }),
        bus.emitAsync('mw.throttled', { n: 2 }),
      ]);
      expect(probe.callsOf('throttledInProcess').map((c) => c.event.data)).toHaveLength(2);
      expect(probe.releasesOf('BehaviourListeners.throttledInProcess')).toBeGreaterThanOrEqual(1);
    });

    it('Logging writes one structured line per attempt with its outcome', async () => {
      const log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const { bus, queues } = await start([BehaviourListeners], {
        middleware: [Logging, RecordingMiddleware],
      });
      await bus.emitAsync('mw.skip', { skip: true });
      await bus.emitAsync('mw.release', {});
      await bus.emitAsync('mw.throw', {}).catch(() => undefined);
      await settled(queues, 'mw');
      const lines = [...log.mock.calls, ...warn.mock.calls]
        .map((c) => String(c[0]))
        // Logging's lines (the worker's own lines share their fields, without durationMs).
        .filter((l) => l.startsWith('event=') && l.includes(' durationMs='));
      const of = (listener: string) =>
        lines.filter((l) => l.includes(`listener=BehaviourListeners.${listener} `));
      expect(of('skipInProcess')).toEqual([
        expect.stringMatching(
          /^event=mw\.skip id=\S+ listener=BehaviourListeners\.skipInProcess attempt=1 durationMs=\d+ outcome=skipped$/,
        ),
      ]);
      expect(of('skipQueued')).toEqual([
        expect.stringMatching(/attempt=1 queue=mw durationMs=\d+ outcome=skipped$/),
      ]);
      expect(of('releaseQueued')).toEqual([
        expect.stringMatching(/attempt=1 queue=mw durationMs=\d+ outcome=released releaseMs=20$/),
        expect.stringMatching(/attempt=1 queue=mw durationMs=\d+ outcome=ok$/),
      ]);
      expect(of('throwQueued')).toEqual(
        [1, 2, 3].map((n) =>
          expect.stringMatching(
            new RegExp(
              `attempt=${n} queue=mw durationMs=\\d+ outcome=failed error="refused by middleware"$`,
            ),
          ),
        ),
      );
      expect(
        warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('outcome=failed')),
      ).toHaveLength(4);
    });
  });

  describe('emit-side validation', () => {
    it('refuses an invalid class event with every violation, before any listener or job', async () => {
      const { bus, probe, queues } = await start([ValidationListeners]);
      const seen = firstValueFrom(bus.stream().pipe(take(1), toArray()));
      const error = await bus.emit(new UserRegistered('nobody', 12)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventValidationError);
      expect(error).toMatchObject({
        code: 'EVENTS_INVALID_PAYLOAD',
        eventName: 'user.registered',
        violations: [
          { path: 'email', message: 'must be an email address' },
          { path: 'age', message: 'must be 18 or more' },
        ],
      });
      expect((error as Error).message).toContain(
        'email: must be an email address; age: must be 18 or more',
      );
      await expect(bus.emitAsync(new UserRegistered('a@b.c', 9))).rejects.toThrow(
        EventValidationError,
      );
      await bus.emit(new UserRegistered('a@b.c', 30));
      expect((await seen)[0].data).toMatchObject({ email: 'a@b.c', age: 30 });
      await settled(queues, 'mw');
      expect(probe.calls.map((c) => [c.listener, (c.event.data as UserRegistered).age])).toEqual([
        ['registeredInProcess', 30],
        ['registeredQueued', 30],
      ]);
      expect((await queues.counts('mw')).completed).toBe(1);
    });

    it('validates events by name with bus.addValidator until it is removed', async () => {
      const { bus, probe, queues } = await start([ValidationListeners]);
      const remove = bus.addValidator<{ name?: string }>('user.named', (data) =>
        typeof data?.name === 'string' ? true : ['name is required'],
      );
      const refusedFalse = bus.addValidator('user.named', (data) => data !== null);
      await expect(bus.emit('user.named', null)).rejects.toMatchObject({
        violations: [
          { path: '', message: 'name is required' },
          { path: '', message: 'refused by its validator' },
        ],
      });
      refusedFalse();
      await expect(bus.emit('user.named', {})).rejects.toThrow(/name is required/);
      await bus.emit('user.named', { name: 'ada' });
      remove();
      await bus.emit('user.named', {});
      await settled(queues, 'mw');
      expect(probe.callsOf('named').map((c) => c.event.data)).toEqual([{ name: 'ada' }, {}]);
      expect((await queues.counts('mw')).completed).toBe(2);
    });
  });

  describe('bus.around', () => {
    it('emits before, runs the action, then emits after with the result', async () => {
      const { bus, probe, queues } = await start([LifecycleListeners]);
      const action = vi.fn(async () => ({ id: 'u1' }));
      await expect(bus.around('user.save', { name: 'ada' }, action)).resolves.toEqual({ id: 'u1' });
      expect(action).toHaveBeenCalledOnce();
      await settled(queues, 'mw');
      expect(probe.calls.map((c) => [c.listener, c.event.name, c.event.data])).toEqual([
        ['before', 'user.save.before', { name: 'ada' }],
        ['after', 'user.save.after', { data: { name: 'ada' }, result: { id: 'u1' } }],
        ['afterQueued', 'user.save.after', { data: { name: 'ada' }, result: { id: 'u1' } }],
      ]);
    });

    it('cancels the action when a before listener throws', async () => {
      const { bus, probe } = await start([LifecycleListeners]);
      probe.set('before', () => {
        throw new Error('quota reached');
      });
      const action = vi.fn();
      const error = await bus.around('user.save', { name: 'ada' }, action).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ListenersFailedError);
      expect(action).not.toHaveBeenCalled();
      expect(probe.calls.map((c) => c.listener)).toEqual(['before']);
    });

    it('emits failed with the error and rethrows it when the action throws', async () => {
      const { bus, probe } = await start([LifecycleListeners]);
      const boom = Object.assign(new TypeError('duplicate email'), { code: 'E_DUP' });
      await expect(
        bus.around('user.save', { name: 'ada' }, () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      await waitFor(() => probe.callsOf('failed').length === 1);
      expect(probe.callsOf('failed')[0].event.data).toEqual({
        data: { name: 'ada' },
        error: { name: 'TypeError', message: 'duplicate email', code: 'E_DUP' },
      });
      expect(probe.callsOf('after')).toEqual([]);
    });
  });
});

runCoordinatedMiddlewareSuite({
  name: 'embedded transport',
  workers: 1,
  options: () => ({ worker: { concurrency: 3 } }),
});
