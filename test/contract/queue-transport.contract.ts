import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventContext,
  EventName,
  EventQueues,
  OnEvent,
  PayloadTooLargeError,
  QUEUE_TRANSPORT,
  ShouldQueue,
  UnrecoverableError,
  UnserializablePayloadError,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { gate, QueueProbe } from '../fixtures/queue-probe.js';

/** A transport the queue contract runs against. */
export interface ContractTarget {
  readonly name: string;
  /** Options merged into every app's forRoot; called per app (give a unique prefix per call). */
  options(): EventsModuleOptions | Promise<EventsModuleOptions>;
  beforeAll?(): Promise<void>;
  afterAll?(): Promise<void>;
}

@EventName('order.shipped')
class OrderShipped {
  constructor(
    readonly orderId: string,
    readonly items: number,
  ) {}

  describe(): string {
    return `${this.orderId}/${this.items}`;
  }
}

@Injectable()
class RetryListeners {
  constructor(private readonly probe: QueueProbe) {}

  @OnEvent('job.retry')
  @ShouldQueue({ queue: 'contract', tries: 3, backoff: [60, 120] })
  retried(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('retried', event, context);
  }

  @OnEvent('job.unrecoverable')
  @ShouldQueue({ queue: 'contract', tries: 5, onFailed: 'onFailed' })
  unrecoverable(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('unrecoverable', event, context);
  }

  @OnEvent('job.timeout')
  @ShouldQueue({ queue: 'contract', tries: 2, timeout: 80, onFailed: 'onFailed' })
  timesOut(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('timesOut', event, context);
  }

  @OnEvent('job.delayed')
  @ShouldQueue({ queue: 'contract', delay: 150 })
  delayed(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('delayed', event, context);
  }

  onFailed(event: EventEnvelope, error: unknown) {
    this.probe.failures.push({ listener: 'hook', event, error });
  }
}

@Injectable()
class WorkListeners {
  constructor(
    private readonly probe: QueueProbe,
    private readonly bus: EventBus,
  ) {}

  @OnEvent('work.*')
  @ShouldQueue({
    queue: 'work',
    onFailed(event, error) {
      (this as WorkListeners).probe.failures.push({ listener: 'work', event, error });
    },
  })
  work(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('work', event, context);
  }

  @OnEvent('work.*')
  inProcess(event: EventEnvelope, context: ListenerContext) {
    void this.probe.run('inProcess', event, context);
  }

  @OnEvent(OrderShipped)
  @ShouldQueue({ queue: 'work' })
  shipped(event: EventEnvelope<OrderShipped>, context: ListenerContext) {
    return this.probe.run('shipped', event, context);
  }

  @OnEvent('chain.start')
  @ShouldQueue({ queue: 'work' })
  async chainStart(event: EventEnvelope, context: ListenerContext) {
    await this.probe.run('chainStart', event, context);
    await this.bus.emit('chain.next', { from: event.id });
  }

  @OnEvent('chain.next')
  chainNext(event: EventEnvelope, context: ListenerContext) {
    void this.probe.run('chainNext', event, context);
  }
}

/**
 * The queue semantics every transport must honour, run through a real Nest app: attempts,
 * backoff, delay, timeout, failure hook, concurrency, ordering, shutdown, dead letters, bad input.
 */
export function runQueueContract(target: ContractTarget): void {
  describe(`queue contract: ${target.name}`, () => {
    const apps: INestApplicationContext[] = [];

    beforeAll(async () => {
      await target.beforeAll?.();
    });
    afterAll(async () => {
      await target.afterAll?.();
    });
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    async function start(
      extra: EventsModuleOptions = {},
      providers: Function[] = [RetryListeners, WorkListeners],
    ) {
      const base = await target.options();
      const app = await createTestApp(
        { providers: [QueueProbe, ...(providers as never[])] },
        { ...base, ...extra, worker: extra.worker ?? base.worker },
      );
      apps.push(app);
      return {
        app,
        bus: app.get(EventBus),
        probe: app.get(QueueProbe),
        queues: app.get(EventQueues),
      };
    }

    it('runs a queued listener once per emit, besides the in-process one, and counts it completed', async () => {
      const { bus, probe, queues } = await start();
      const envelope = await bus.emit('work.a', { n: 1 });
      await waitFor(
        () => probe.callsOf('work').length === 1 && probe.callsOf('inProcess').length === 1,
      );
      const [call] = probe.callsOf('work');
      expect(call.event.id).toBe(envelope.id);
      expect(call.event.data).toEqual({ n: 1 });
      expect(call.attempt).toBe(1);
      expect(call.event.attempt).toBe(1);
      expect(call.context.queue).toBe('work');
      expect(call.context.listener).toBe('WorkListeners.work');
      await waitFor(async () => (await queues.counts('work')).completed === 1);
      expect(await queues.counts('work')).toMatchObject({
        waiting: 0,
        active: 0,
        dead: 0,
        completed: 1,
      });
    });

    it('makes exactly `tries` attempts, waits at least the backoff between them, then dead-letters once', async () => {
      const { bus, probe, queues } = await start();
      probe.set('retried', () => {
        throw new Error('always fails');
      });
      await bus.emit('job.retry', { id: 'r1' });
      await waitFor(async () => (await queues.counts('contract')).dead === 1);
      const calls = probe.callsOf('retried');
      expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
      expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(60);
      expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(120);
      const [dead] = await queues.listDead('contract');
      expect(dead).toMatchObject({
        listener: 'RetryListeners.retried',
        attempts: 3,
        reason: 'failed',
        error: 'always fails',
      });
      expect(dead.stack).toContain('always fails');
      expect(dead.failedAt).toBeGreaterThanOrEqual(dead.enqueuedAt);
      expect(await queues.counts('contract')).toMatchObject({
        failed: 3,
        dead: 1,
        waiting: 0,
        delayed: 0,
        active: 0,
      });
    });

    it('succeeds on a later attempt without reaching dead letters', async () => {
      const { bus, probe, queues } = await start();
      probe.set('retried', (_event, context) => {
        if (context.attempt < 3) throw new Error(`attempt ${context.attempt} fails`);
        return 'ok';
      });
      await bus.emit('job.retry', {});
      await waitFor(async () => (await queues.counts('contract')).completed === 1);
      expect(probe.callsOf('retried')).toHaveLength(3);
      expect(await queues.counts('contract')).toMatchObject({ failed: 2, dead: 0, completed: 1 });
    });

    it('skips the remaining attempts on UnrecoverableError and runs the failure hook once', async () => {
      const { bus, probe, queues } = await start();
      probe.set('unrecoverable', () => {
        throw new UnrecoverableError('card declined');
      });
      const envelope = await bus.emit('job.unrecoverable', { id: 'u1' });
      await waitFor(() => probe.failures.length === 1);
      expect(probe.callsOf('unrecoverable')).toHaveLength(1);
      expect(probe.failures[0].event.id).toBe(envelope.id);
      expect((probe.failures[0].error as Error).message).toBe('card declined');
      const [dead] = await queues.listDead('contract');
      expect(dead).toMatchObject({ reason: 'unrecoverable', attempts: 1 });
    });

    it('fails a timed-out attempt, aborts its signal, and calls the failure hook exactly once', async () => {
      const { bus, probe, queues } = await start();
      const signals: AbortSignal[] = [];
      probe.set('timesOut', (_event, context) => {
        signals.push(context.signal);
        return new Promise(() => undefined); // never settles on its own
      });
      await bus.emit('job.timeout', {});
      await waitFor(async () => (await queues.counts('contract')).dead === 1);
      await waitFor(() => probe.failures.length === 1);
      expect(probe.callsOf('timesOut').map((c) => c.attempt)).toEqual([1, 2]);
      expect(signals.every((s) => s.aborted)).toBe(true);
      const [dead] = await queues.listDead('contract');
      expect(dead).toMatchObject({ reason: 'timeout', attempts: 2 });
      expect(dead.error).toContain('timed out after 80 ms');
      expect(probe.failures).toHaveLength(1);
    });

    it('honours the listener delay and the emit delay', async () => {
      const { bus, probe } = await start();
      const before = Date.now();
      await bus.emit('job.delayed', {});
      await bus.emit('work.later', {}, { delay: 200 });
      // The in-process call of a delayed event runs from its own timer: wait for it too.
      await waitFor(
        () =>
          probe.callsOf('delayed').length === 1 &&
          probe.callsOf('work').length === 1 &&
          probe.callsOf('inProcess').length === 1,
      );
      expect(probe.callsOf('delayed')[0].at - before).toBeGreaterThanOrEqual(150);
      expect(probe.callsOf('work')[0].at - before).toBeGreaterThanOrEqual(200);
      // The in-process listener of a delayed event is delayed too.
      expect(probe.callsOf('inProcess')[0].at - before).toBeGreaterThanOrEqual(200);
    });

    it('never runs more jobs of a queue at once than its concurrency, and starts them in emit order', async () => {
      const { bus, probe, queues } = await start({ worker: { concurrency: { work: 3 } } });
      const release = gate();
      probe.set('work', () => release.promise);
      for (let i = 0; i < 12; i++) await bus.emit('work.item', { i });
      await waitFor(() => probe.callsOf('work').length === 3);
      expect((await queues.counts('work')).active).toBe(3);
      release.open();
      await waitFor(() => probe.callsOf('work').length === 12);
      expect(probe.maxRunning('work')).toBe(3);
      expect(probe.callsOf('work').map((c) => (c.event.data as { i: number }).i)).toEqual([
        ...Array(12).keys(),
      ]);
    });

    it('starts jobs one by one in emit order with concurrency 1', async () => {
      const { bus, probe } = await start();
      for (let i = 0; i < 20; i++) await bus.emit('work.seq', { i });
      await waitFor(() => probe.callsOf('work').length === 20);
      expect(probe.maxRunning('work')).toBe(1);
      expect(probe.callsOf('work').map((c) => (c.event.data as { i: number }).i)).toEqual([
        ...Array(20).keys(),
      ]);
    });

    it('lets a retried dead job run again, and purges dead jobs', async () => {
      const { bus, probe, queues } = await start();
      let isBroken = true;
      probe.set('work', () => {
        if (isBroken) throw new Error('broken');
      });
      await bus.emit('work.one', {});
      await bus.emit('work.two', {});
      await waitFor(async () => (await queues.counts('work')).dead === 2);
      const dead = await queues.listDead('work');
      expect(dead).toHaveLength(2);
      expect(await queues.listDead('work', { offset: 1, limit: 5 })).toEqual([dead[1]]);
      isBroken = false;
      expect(await queues.retryDead('work', dead[0].id)).toBe(1);
      await waitFor(async () => (await queues.counts('work')).completed === 1);
      expect((await queues.listDead('work')).map((d) => d.id)).toEqual([dead[1].id]);
      expect(await queues.retryDead('work', 'no-such-id')).toBe(0);
      expect(await queues.purgeDead('work')).toBe(1);
      expect(await queues.counts('work')).toMatchObject({ dead: 0, completed: 1 });
      expect(probe.failures.map((f) => f.listener)).toEqual(['work', 'work']);
    });

    it('retries every dead job with "all"', async () => {
      const { bus, probe, queues } = await start();
      let isBroken = true;
      probe.set('work', () => {
        if (isBroken) throw new Error('broken');
      });
      for (let i = 0; i < 3; i++) await bus.emit('work.all', { i });
      await waitFor(async () => (await queues.counts('work')).dead === 3);
      isBroken = false;
      expect(await queues.retryDead('work', 'all')).toBe(3);
      await waitFor(async () => (await queues.counts('work')).completed === 3);
      expect(await queues.counts('work')).toMatchObject({ dead: 0 });
    });

    it('restores the event context in the worker: correlation, causation and app keys', async () => {
      const { bus, probe } = await start();
      const root = await EventContext.run({ tenantId: 't-42' }, () =>
        bus.emit('chain.start', {}, { metadata: { correlationId: 'corr-1' } }),
      );
      await waitFor(() => probe.callsOf('chainNext').length === 1);
      const [start1] = probe.callsOf('chainStart');
      expect(start1.event.metadata).toMatchObject({ tenantId: 't-42', correlationId: 'corr-1' });
      const [next] = probe.callsOf('chainNext');
      expect(next.event.metadata).toMatchObject({
        tenantId: 't-42',
        correlationId: 'corr-1',
        causationId: root.id,
      });
    });

    it('rehydrates class events in the worker', async () => {
      const { bus, probe } = await start();
      await bus.emit(new OrderShipped('o-7', 3));
      await waitFor(() => probe.callsOf('shipped').length === 1);
      const data = probe.callsOf('shipped')[0].event.data as OrderShipped;
      expect(data).toBeInstanceOf(OrderShipped);
      expect(data.describe()).toBe('o-7/3');
    });

    it('refuses an unserializable or oversized payload at emit time and stores nothing', async () => {
      const { bus, probe, queues } = await start({ maxPayloadBytes: 1000 });
      await expect(bus.emit('work.bad', { fn: () => 1 })).rejects.toBeInstanceOf(
        UnserializablePayloadError,
      );
      await expect(bus.emit('work.bad', { tag: Symbol('t') })).rejects.toThrow(/symbol/);
      await expect(bus.emit('work.bad', { error: new Error('x') })).rejects.toThrow(/an Error/);
      const big = await bus
        .emit('work.big', { text: 'x'.repeat(2000) })
        .catch((error: unknown) => error);
      expect(big).toBeInstanceOf(PayloadTooLargeError);
      expect((big as PayloadTooLargeError).code).toBe('EVENTS_PAYLOAD_TOO_LARGE');
      expect((big as Error).message).toContain('work.big');
      expect(await queues.counts('work')).toMatchObject({
        waiting: 0,
        delayed: 0,
        active: 0,
        completed: 0,
      });
      // Refused before anything ran: the in-process listener of the same event did not run either.
      expect(probe.callsOf('inProcess')).toHaveLength(0);
    });

    it('stores jobs without running them when the worker is off', async () => {
      const { bus, probe, queues } = await start({ worker: false });
      await bus.emit('work.stored', {});
      await bus.emit('work.stored', {});
      expect(await queues.counts('work')).toMatchObject({ waiting: 2, active: 0 });
      expect(probe.callsOf('work')).toHaveLength(0);
      expect(Object.keys(await queues.counts())).toEqual(
        expect.arrayContaining(['contract', 'work']),
      );
    });

    it('drains running jobs on shutdown; takes no new ones unless the transport is not durable', async () => {
      const { app, bus, probe, queues } = await start();
      const release = gate();
      probe.set('work', () => release.promise);
      await bus.emit('work.drain', { i: 0 });
      await bus.emit('work.drain', { i: 1 });
      await waitFor(() => probe.callsOf('work').length === 1);
      const before = await queues.counts('work');
      expect(before).toMatchObject({ active: 1, waiting: 1 });
      const closing = app.close();
      await new Promise((resolve) => setImmediate(resolve));
      release.open();
      await closing;
      apps.splice(apps.indexOf(app), 1);
      // A durable transport keeps the waiting job for another worker; the embedded one would
      // lose it with the process, so it lets the worker run it before stopping.
      const isDurable = app.get<{ isDurable: boolean }>(QUEUE_TRANSPORT).isDurable;
      expect(probe.callsOf('work')).toHaveLength(isDurable ? 1 : 2);
      expect(probe.callsOf('work')[0].context.signal.aborted).toBe(false);
    });

    it('aborts the signal of jobs still running at the shutdown deadline and leaves them unfinished', async () => {
      const { app, bus, probe } = await start({ worker: { shutdownTimeout: 50 } });
      probe.set(
        'work',
        (_event, context) =>
          new Promise((resolve) => context.signal.addEventListener('abort', resolve)),
      );
      await bus.emit('work.stuck', {});
      await waitFor(() => probe.callsOf('work').length === 1);
      await app.close();
      apps.splice(apps.indexOf(app), 1);
      expect(probe.callsOf('work')[0].context.signal.aborted).toBe(true);
      expect(probe.failures).toHaveLength(0);
    });
  });
}
