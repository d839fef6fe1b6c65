import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBus, EventMetrics } from 'nestjs-events';
import { transportApps } from '../support/transport-apps.js';
import { installTracing, type TestTracing } from '../support/tracing.js';
import { waitFor } from '../support/wait-for.js';
import {
  ItemMiddleware,
  MeasuredBatch,
  MiddlewareBatch,
  TracedBatch,
} from '../fixtures/batch-observability.fixtures.js';

const ZERO = { handled: 0, failed: 0, retried: 0, timedOut: 0, deadLettered: 0, released: 0 };

let tracing: TestTracing;
const tracer = trace.getTracer('test');

beforeAll(() => {
  tracing = installTracing();
});
afterAll(async () => {
  await tracing?.uninstall();
});
beforeEach(() => tracing.exporter.reset());

/** Emits `name` inside an active span `request`; resolves to that span's context. */
function emitInRequest(bus: EventBus, name: string, i: number) {
  return tracer.startActiveSpan('request', async (span) => {
    await bus.emit(name, { i });
    span.end();
    return span.spanContext();
  });
}

const ids = (span: ReadableSpan) => `${span.spanContext().traceId}/${span.spanContext().spanId}`;

describe.each(['memory', 'redis'] as const)('batched handlers on the %s transport', (kind) => {
  const apps = transportApps(kind, 'batch-obs');

  it('counts each job of a batch once by its own outcome, and each batch call once', async () => {
    const app = await apps.start({ providers: [MeasuredBatch] });
    const metrics = app.get(EventMetrics);
    await app.get(EventBus).emitMany(
      Array.from({ length: 6 }, (_, i) => ({
        name: 'measured.item',
        data: { i, fail: i === 1 || i === 4 },
      })),
    );
    await waitFor(() => {
      const queue = metrics.snapshot().queues.measured;
      return queue !== undefined && queue.handled === 4 && queue.deadLettered === 2;
    });
    const snapshot = metrics.snapshot();
    const calls = app.get(MeasuredBatch).calls;
    // Four items handled once; two failed twice (tries 2): one retry, then dead letters.
    const counted = { ...ZERO, handled: 4, failed: 4, retried: 2, deadLettered: 2 };
    expect(snapshot.events['measured.item']).toEqual({ emitted: 6, ...counted });
    expect(snapshot.listeners['MeasuredBatch.handle']).toMatchObject(counted);
    const queue = snapshot.queues.measured;
    expect(queue).toMatchObject(counted);
    // One duration per handler call (a batch is one call), whatever the batches held.
    expect(queue.duration.count).toBe(calls.length);
    expect(snapshot.listeners['MeasuredBatch.handle'].duration.count).toBe(calls.length);
    expect(calls.flat().sort()).toEqual([0, 1, 1, 2, 3, 4, 4, 5]);
    // The emit-to-start wait of each job's first attempt.
    expect(queue.wait?.count).toBe(6);
  });

  it('traces a batch call in one CONSUMER span linked to the producer span of each job', async () => {
    const app = await apps.start({ providers: [TracedBatch] });
    const bus = app.get(EventBus);
    const requests = [];
    for (let i = 0; i < 3; i++) requests.push(await emitInRequest(bus, 'traced.item', i));
    const listener = app.get(TracedBatch);
    await waitFor(() => tracing.spans('process traced.item').length === 2, {
      message: 'both batch calls traced',
    });
    expect(listener.calls).toEqual([
      { attempt: 1, size: 3 },
      { attempt: 2, size: 3 },
    ]);
    const sends = tracing.spans('send traced.item');
    expect(sends.map((s) => s.spanContext().traceId).sort()).toEqual(
      requests.map((r) => r.traceId).sort(),
    );
    const [failed, handled] = tracing.spans('process traced.item');
    for (const [span, attempt] of [
      [failed, 1],
      [handled, 2],
    ] as const) {
      expect(span.kind).toBe(SpanKind.CONSUMER);
      // Jobs of three traces: a trace of its own, linked to each producer span.
      expect(span.parentSpanContext?.spanId).toBeUndefined();
      expect(requests.map((r) => r.traceId)).not.toContain(span.spanContext().traceId);
      expect(span.links.map((l) => `${l.context.traceId}/${l.context.spanId}`).sort()).toEqual(
        sends.map(ids).sort(),
      );
      expect(span.attributes).toMatchObject({
        'messaging.system': kind,
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'traced',
        'messaging.batch.message_count': 3,
        'nestjs_events.listener': 'TracedBatch.handle',
        'nestjs_events.event': 'traced.item',
        'nestjs_events.attempt': attempt,
      });
    }
    expect(failed.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'batch declined' });
    expect(failed.events.map((e) => e.name)).toEqual(['exception']);
    expect(handled.status.code).toBe(SpanStatusCode.UNSET);

    // A batch of one: the child of its job's producer span, as a single job's span.
    const request = await emitInRequest(bus, 'traced.single', 9);
    await waitFor(() => tracing.spans('process traced.single').length === 1);
    const [send] = tracing.spans('send traced.single');
    const [single] = tracing.spans('process traced.single');
    expect(single.spanContext().traceId).toBe(request.traceId);
    expect(single.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(single.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
  });

  it('runs middleware per job of a batch: one envelope each, skips and releases per job', async () => {
    const app = await apps.start({ providers: [ItemMiddleware, MiddlewareBatch] });
    await app.get(EventBus).emitMany(
      Array.from({ length: 6 }, (_, i) => ({
        name: 'guarded.item',
        data: { i, skip: i === 1, release: i === 2 },
      })),
    );
    const metrics = app.get(EventMetrics);
    await waitFor(() => metrics.snapshot().queues.guarded?.handled === 6);
    const seen = app.get(ItemMiddleware).seen;
    expect(seen.every((s) => !s.isArray && s.attempt === 1)).toBe(true);
    // Each job once, the released one twice.
    expect(seen.map((s) => s.i).sort()).toEqual([0, 1, 2, 2, 3, 4, 5]);
    const calls = app.get(MiddlewareBatch).calls.flat();
    // The skipped job never reaches the handler; the released one does, once, later.
    expect(calls.map((c) => c.i).sort()).toEqual([0, 2, 3, 4, 5]);
    expect(calls.every((c) => c.checked === 'yes')).toBe(true);
    expect(metrics.snapshot().queues.guarded).toMatchObject({ ...ZERO, handled: 6, released: 1 });
  });
});
