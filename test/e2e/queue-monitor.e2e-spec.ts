import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, InvalidOptionError, resolveEventsOptions } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { MONITORED_QUEUE, MonitoredJobs, QueueAlerts } from '../fixtures/metrics.fixtures.js';

const monitor = { intervalMs: 20, queues: { [MONITORED_QUEUE]: { maxWaiting: 1 } } };

describe('Backlog monitor (QueueBusy, QueueRecovered)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('announces each crossing once with two apps monitoring, across a change of monitor', async () => {
    const prefix = `monitor-${process.pid}`;
    const options = { redis: server.url, prefix, monitor, worker: false };
    const apps: INestApplicationContext[] = [];
    const start = async (extra = {}) => {
      const app = await createTestApp(
        { providers: [MonitoredJobs, QueueAlerts] },
        { ...options, ...extra },
      );
      apps.push(app);
      return app;
    };
    try {
      const first = await start();
      const second = await start();
      const alerts = () => [first, second].map((app) => app.get(QueueAlerts));
      const total = (kind: 'busy' | 'recovered') =>
        alerts().reduce((sum, a) => sum + a[kind].length, 0);

      // One batch: the monitor reads 3 at once, never 2 on the way.
      await first
        .get(EventBus)
        .emitMany([0, 1, 2].map((i) => ({ name: 'backlog.item', data: { i } })));
      await waitFor(() => total('busy') === 1, { message: 'QueueBusy' });
      const [busy] = alerts().flatMap((a) => a.busy);
      expect(busy).toMatchObject({
        queue: MONITORED_QUEUE,
        measure: 'waiting',
        reading: 3,
        threshold: 1,
      });

      // The app that announced it stops: the other takes over the monitor and must not announce
      // the same crossing again, then announces the recovery once a worker drained the queue.
      const announcer = alerts()[0].busy.length === 1 ? first : second;
      const other = announcer === first ? second : first;
      await announcer.close();
      apps.splice(apps.indexOf(announcer), 1);
      await start({ worker: true, monitor: undefined });
      await waitFor(() => other.get(QueueAlerts).recovered.length === 1, {
        message: 'QueueRecovered',
      });
      expect(other.get(QueueAlerts).busy).toEqual([]);
      const recovered = other.get(QueueAlerts).recovered[0];
      expect(recovered).toMatchObject({ queue: MONITORED_QUEUE, measure: 'waiting', threshold: 1 });
      // Back under the threshold: the reading the monitor saw (the worker may still be draining).
      expect(recovered.reading).toBeLessThanOrEqual(1);
    } finally {
      for (const app of apps) await app.close();
    }
  });

  it('works on the embedded transport, with lag and dead-job thresholds', async () => {
    const app = await createTestApp(
      { providers: [MonitoredJobs, QueueAlerts] },
      {
        worker: false,
        monitor: { intervalMs: 20, queues: { [MONITORED_QUEUE]: { maxLagMs: 30, maxDead: 5 } } },
      },
    );
    try {
      await app.get(EventBus).emit('backlog.item', {});
      await waitFor(() => app.get(QueueAlerts).busy.length === 1, { message: 'QueueBusy' });
      const [busy] = app.get(QueueAlerts).busy;
      expect(busy).toMatchObject({ queue: MONITORED_QUEUE, measure: 'lagMs', threshold: 30 });
      expect(busy.reading).toBeGreaterThan(30);
    } finally {
      await app.close();
    }
  });

  it('refuses bad monitor options with a typed error', () => {
    expect(() => resolveEventsOptions({ monitor: { queues: { q: {} } } })).toThrow(
      InvalidOptionError,
    );
    expect(() => resolveEventsOptions({ monitor: { queues: { q: { maxWaiting: -1 } } } })).toThrow(
      /monitor.queues.q.maxWaiting/,
    );
    expect(() =>
      resolveEventsOptions({ monitor: { queues: { q: { maxBusy: 1 } as never } } }),
    ).toThrow(/maxBusy/);
  });
});
