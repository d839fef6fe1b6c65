import { describe, expect, it } from 'vitest';
import { EventBus, EventMetrics, EventQueues, type MetricsSnapshot } from 'nestjs-events';
import { transportApps } from '../support/transport-apps.js';
import { waitFor } from '../support/wait-for.js';
import {
  MeasuredListener,
  MeasuredService,
  METRICS_QUEUE,
  MetricsListeners,
} from '../fixtures/metrics.fixtures.js';

const ZERO = { handled: 0, failed: 0, retried: 0, timedOut: 0, deadLettered: 0, released: 0 };

describe.each(['memory', 'redis'] as const)('EventMetrics on the %s transport', (kind) => {
  const apps = transportApps(kind, 'metrics');

  async function runKnown(inProcess: boolean): Promise<MetricsSnapshot> {
    const app = await apps.start(
      { providers: [MetricsListeners] },
      { metrics: { inProcess }, worker: { concurrency: 1 } },
    );
    const metrics = app.get(EventMetrics);
    await app.get(EventBus).emit('order.created', { id: 'o1' });
    await waitFor(async () => {
      const s = metrics.snapshot().queues[METRICS_QUEUE];
      return s !== undefined && s.handled === 1 && s.deadLettered === 1;
    });
    return metrics.snapshot();
  }

  it('counts a known run exactly: tries 2 failing twice gives one retry and one dead letter', async () => {
    const snapshot = await runKnown(false);
    expect(snapshot.events['order.created']).toEqual({
      emitted: 1,
      ...ZERO,
      handled: 1,
      failed: 2,
      retried: 1,
      deadLettered: 1,
    });
    expect(snapshot.listeners['MetricsListeners.flaky']).toMatchObject({
      queue: METRICS_QUEUE,
      ...ZERO,
      failed: 2,
      retried: 1,
      deadLettered: 1,
    });
    expect(snapshot.listeners['MetricsListeners.flaky'].duration.count).toBe(2);
    expect(snapshot.listeners['MetricsListeners.sendConfirmation']).toMatchObject({
      ...ZERO,
      handled: 1,
    });
    const queue = snapshot.queues[METRICS_QUEUE];
    expect(queue).toMatchObject({ ...ZERO, handled: 1, failed: 2, retried: 1, deadLettered: 1 });
    expect(queue.duration.count).toBe(3);
    expect(queue.throughputPerSec).toBeGreaterThan(0);
    // Two first attempts waited from their emit; the retry's wait is its backoff, not counted.
    expect(queue.wait?.count).toBe(2);
    expect(queue.wait?.avgMs).toBeGreaterThanOrEqual(0);
    // In-process calls are not timed unless asked for.
    expect(snapshot.listeners['MetricsListeners.onCreated']).toBeUndefined();
  });

  it('times in-process listeners with metrics.inProcess, failures included', async () => {
    const snapshot = await runKnown(true);
    expect(snapshot.listeners['MetricsListeners.onCreated']).toMatchObject({ ...ZERO, handled: 1 });
    expect(snapshot.listeners['MetricsListeners.onCreated'].queue).toBeUndefined();
    expect(snapshot.listeners['MetricsListeners.onCreated'].duration.count).toBe(1);
    expect(snapshot.events['order.created']).toMatchObject({ emitted: 1, handled: 2, failed: 2 });
  });

  it('reads queue depths, the oldest waiting job and per-minute history from the transport', async () => {
    const app = await apps.start({ providers: [MetricsListeners] }, { worker: false });
    const metrics = app.get(EventMetrics);
    await app.get(EventBus).emit('order.created', { id: 'o2' });
    const emittedAt = Date.now();
    await waitFor(async () => {
      const reading = (await metrics.queues())[METRICS_QUEUE];
      return reading.oldestWaitingMs >= 30 && Date.now() - emittedAt >= 30;
    });
    const reading = (await metrics.queues())[METRICS_QUEUE];
    expect(reading).toMatchObject({ waiting: 2, delayed: 0, active: 0, dead: 0 });
    expect(reading.oldestWaitingMs).toBeGreaterThanOrEqual(30);
    await app.close();

    // A worker (another app on the same transport for Redis) runs them: history counts per minute.
    const worker =
      kind === 'redis'
        ? await apps.start(
            { providers: [MetricsListeners] },
            { prefix: apps.prefix, worker: { concurrency: 1 } },
          )
        : undefined;
    if (worker === undefined) return; // The embedded transport's jobs died with the app.
    const workerMetrics = worker.get(EventMetrics);
    await waitFor(async () => (await worker.get(EventQueues).counts(METRICS_QUEUE)).dead === 1);
    const history = await workerMetrics.history(METRICS_QUEUE, { minutes: 2 });
    expect(history).toHaveLength(2);
    expect(history[1].at - history[0].at).toBe(60_000);
    const total = history.reduce(
      (sum, m) => ({ completed: sum.completed + m.completed, failed: sum.failed + m.failed }),
      { completed: 0, failed: 0 },
    );
    expect(total).toEqual({ completed: 1, failed: 2 });
    expect((await workerMetrics.queues())[METRICS_QUEUE]).toMatchObject({
      waiting: 0,
      dead: 1,
      oldestWaitingMs: 0,
    });
  });

  it('counts the attempts of the own worker in the per-minute history', async () => {
    const app = await apps.start({ providers: [MetricsListeners] });
    const metrics = app.get(EventMetrics);
    await app.get(EventBus).emit('order.created', { id: 'o3' });
    await waitFor(async () => (await app.get(EventQueues).counts(METRICS_QUEUE)).dead === 1);
    const history = await metrics.history(METRICS_QUEUE, { minutes: 1440 });
    expect(history).toHaveLength(1440);
    const total = history.reduce((sum, m) => sum + m.completed * 10 + m.failed, 0);
    expect(total).toBe(12);
    expect(() => metrics.history(METRICS_QUEUE, { minutes: 1441 })).toThrow(/minutes/);
  });
});

describe('@Measure', () => {
  const apps = transportApps('memory', 'measure');

  it('records calls, errors and durations of sync and async methods and of listeners', async () => {
    const app = await apps.start({ providers: [MeasuredService, MeasuredListener] });
    const service = app.get(MeasuredService);
    expect(service.process(false)).toBe('done');
    expect(() => service.process(true)).toThrow('measured failure');
    expect(service.process(false)).toBe('done');
    await expect(service.processLater(false)).resolves.toBe('done');
    await expect(service.processLater(true)).rejects.toThrow('measured failure');
    await app.get(EventBus).emitAsync('work.done', {});
    expect(app.get(MeasuredListener).calls).toBe(1);
    const { measures } = app.get(EventMetrics).snapshot();
    expect(measures.event_processing).toMatchObject({ calls: 3, errors: 1 });
    expect(measures.event_processing.duration.count).toBe(3);
    expect(measures.event_processing_async).toMatchObject({ calls: 2, errors: 1 });
    expect(measures.listener_work).toMatchObject({ calls: 1, errors: 0 });
    app.get(EventMetrics).reset();
    expect(app.get(EventMetrics).snapshot().measures).toEqual({});
  });

  it('records nothing with metrics: false', async () => {
    const app = await apps.start({ providers: [MeasuredService] }, { metrics: false });
    app.get(MeasuredService).process(false);
    await app.get(EventBus).emit('order.created', {});
    const snapshot = app.get(EventMetrics).snapshot();
    expect(snapshot.measures).toEqual({});
    expect(snapshot.events).toEqual({});
  });
});
