import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus, EventsModule, MissingPeerDependencyError } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { transportApps } from '../support/transport-apps.js';
import { waitFor } from '../support/wait-for.js';
import { METRICS_QUEUE, MetricsListeners } from '../fixtures/metrics.fixtures.js';

type Json = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

function value(json: Json, name: string, labels: Record<string, string>): number | undefined {
  const metric = json.find((m) => m.name === `nestjs_events_${name}`);
  const found = (metric?.values ?? []).find((v) =>
    Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return found?.value;
}

@Injectable()
class Nothing {}

describe('Prometheus export', () => {
  const apps = transportApps('memory', 'prom');
  afterEach(() => {
    vi.doUnmock('prom-client');
  });

  it('registers counters, the duration histogram and queue gauges on the given registry', async () => {
    const registry = new Registry();
    const app = await apps.start(
      { providers: [MetricsListeners] },
      { metrics: { inProcess: true, prometheus: { registry, cacheMs: 0 } } },
    );
    await app.get(EventBus).emit('order.created', { id: 'o1' });
    await waitFor(async () => {
      const json = await registry.getMetricsAsJSON();
      return value(json, 'listener_runs_total', { outcome: 'dead' }) === 1;
    });
    const json = await registry.getMetricsAsJSON();
    expect(value(json, 'emitted_total', { event: 'order.created' })).toBe(1);
    const runs = (listener: string, queue: string, outcome: string) =>
      value(json, 'listener_runs_total', { listener, queue, outcome });
    expect(runs('MetricsListeners.flaky', METRICS_QUEUE, 'retry')).toBe(1);
    expect(runs('MetricsListeners.flaky', METRICS_QUEUE, 'dead')).toBe(1);
    expect(runs('MetricsListeners.sendConfirmation', METRICS_QUEUE, 'success')).toBe(1);
    expect(runs('MetricsListeners.onCreated', '', 'success')).toBe(1);
    expect(
      value(json, 'listener_duration_seconds', {
        listener: 'MetricsListeners.flaky',
        queue: METRICS_QUEUE,
        le: '+Inf',
      }),
    ).toBe(2);
    expect(value(json, 'queue_jobs', { queue: METRICS_QUEUE, state: 'dead' })).toBe(1);
    expect(value(json, 'queue_jobs', { queue: METRICS_QUEUE, state: 'waiting' })).toBe(0);
    expect(value(json, 'queue_lag_seconds', { queue: METRICS_QUEUE })).toBe(0);
    // No label carries an id or a payload.
    const labels = json.flatMap((m) => m.values.flatMap((v) => Object.values(v.labels)));
    expect(labels.some((l) => String(l).includes('o1'))).toBe(false);
  });

  it('counts event names past maxEventLabels as other', async () => {
    const registry = new Registry();
    const app = await apps.start(
      { providers: [Nothing] },
      { metrics: { maxEventLabels: 2, prometheus: { registry } } },
    );
    const bus = app.get(EventBus);
    for (const name of ['a.one', 'a.two', 'a.three', 'a.four', 'a.one']) await bus.emit(name, {});
    const json = await registry.getMetricsAsJSON();
    expect(value(json, 'emitted_total', { event: 'a.one' })).toBe(2);
    expect(value(json, 'emitted_total', { event: 'a.two' })).toBe(1);
    expect(value(json, 'emitted_total', { event: 'other' })).toBe(2);
    expect(value(json, 'emitted_total', { event: 'a.three' })).toBeUndefined();
  });

  it('serves the text format at path on the HTTP server', async () => {
    const registry = new Registry();
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventsModule.forRoot({
          metrics: { prometheus: { registry, path: '/metrics', prefix: 'shop_' } },
        }),
      ],
      providers: [Nothing],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      await app.get(EventBus).emit('order.created', {});
      const response = await fetch(`${await app.getUrl()}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      expect(text).toContain('shop_emitted_total{event="order.created"} 1');
      expect(text).toContain('# TYPE shop_listener_duration_seconds histogram');
    } finally {
      await app.close();
    }
  });

  it('fails the boot, naming the package, when prom-client is not installed', async () => {
    vi.doMock('prom-client', () => {
      throw Object.assign(new Error("Cannot find package 'prom-client'"), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    });
    const error = await createTestApp(
      { providers: [Nothing] },
      { metrics: { prometheus: {} } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingPeerDependencyError);
    expect((error as MissingPeerDependencyError).packageName).toBe('prom-client');
    expect((error as Error).message).toContain('metrics.prometheus');
  });
});
