import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { installTracing, type TestTracing } from '../support/tracing.js';
import { waitFor } from '../support/wait-for.js';
import { tracedWorkers, TracedListener } from '../fixtures/traced-worker.js';

/** Fails its first attempt, then emits a follow-up event with a queued listener of its own. */
@Injectable()
class OrderListeners {
  readonly attempts: { attempt: number; metadata: Record<string, string> }[] = [];
  shipped = 0;

  constructor(private readonly bus: EventBus) {}

  @OnEvent('trace.order')
  @ShouldQueue({ queue: 'orders', tries: 3, backoff: 0 })
  async place(event: EventEnvelope, context: ListenerContext): Promise<void> {
    this.attempts.push({ attempt: context.attempt, metadata: { ...event.metadata } });
    if (context.attempt === 1) throw new Error('card declined');
    await this.bus.emit('trace.shipped', {});
  }

  @OnEvent('trace.shipped')
  @ShouldQueue({ queue: 'orders' })
  ship(): void {
    this.shipped++;
  }
}

interface SpanSummary {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  status: SpanStatusCode;
  exceptions: number;
  attributes: Record<string, unknown>;
}

let tracing: TestTracing;
let server: RedisServer;
let seq = 0;
const apps: INestApplicationContext[] = [];
const tracer = trace.getTracer('test');

beforeAll(async () => {
  tracing = installTracing();
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
  await tracing?.uninstall();
});
beforeEach(() => tracing.exporter.reset());
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function app(options: Parameters<typeof createTestApp>[1], providers: unknown[]) {
  const started = await createTestApp({ providers: providers as never[] }, options);
  apps.push(started);
  return started;
}

/** Emits `name` inside an active span `request`; resolves to that span and the envelope. */
async function emitInRequest(bus: EventBus, name: string) {
  return tracer.startActiveSpan('request', async (span) => {
    const envelope = await bus.emit(name, { orderId: 'o1' });
    span.end();
    return { request: span.spanContext(), envelope };
  });
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('Tracing (OpenTelemetry)', () => {
  it('one trace from the emitter to a worker app on the same Redis, one span per attempt', async () => {
    const prefix = `trace-${process.pid}-${++seq}`;
    const producer = await app({ redis: server.url, prefix, worker: false }, [OrderListeners]);
    const worker = await app({ redis: server.url, prefix }, [OrderListeners]);
    const { request, envelope } = await emitInRequest(producer.get(EventBus), 'trace.order');
    const listeners = worker.get(OrderListeners);
    await waitFor(() => listeners.shipped === 1, { message: 'follow-up handled' });
    await waitFor(() => tracing.spans('process trace.shipped').length === 1);

    const [send] = tracing.spans('send trace.order');
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.spanContext().traceId).toBe(request.traceId);
    expect(parentOf(send)).toBe(request.spanId);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'redis',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'orders',
      'messaging.message.id': envelope.id,
    });
    // The trace context travels in the envelope's metadata, through Redis.
    const traceparent = `00-${request.traceId}-${send.spanContext().spanId}-01`;
    expect(envelope.metadata.traceparent).toBe(traceparent);
    expect(listeners.attempts.map((a) => a.metadata.traceparent)).toEqual([
      traceparent,
      traceparent,
    ]);

    const attempts = tracing.spans('process trace.order');
    expect(attempts.map((s) => s.attributes['nestjs_events.attempt'])).toEqual([1, 2]);
    for (const span of attempts) {
      expect(span.kind).toBe(SpanKind.CONSUMER);
      expect(span.spanContext().traceId).toBe(request.traceId);
      expect(parentOf(span)).toBe(send.spanContext().spanId);
      expect(span.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'orders',
        'messaging.message.id': envelope.id,
        'nestjs_events.listener': 'OrderListeners.place',
      });
    }
    expect(attempts[0].status).toMatchObject({
      code: SpanStatusCode.ERROR,
      message: 'card declined',
    });
    expect(attempts[0].events.map((e) => e.name)).toEqual(['exception']);
    expect(attempts[1].status.code).toBe(SpanStatusCode.UNSET);

    // The follow-up emitted by the second attempt is its child, and its job's span the next one.
    const [followUp] = tracing.spans('send trace.shipped');
    expect(parentOf(followUp)).toBe(attempts[1].spanContext().spanId);
    const [shipped] = tracing.spans('process trace.shipped');
    expect(shipped.spanContext().traceId).toBe(request.traceId);
    expect(parentOf(shipped)).toBe(followUp.spanContext().spanId);
  });

  it('tracing: false makes no span and writes no trace context', async () => {
    const started = await app({ tracing: false }, [OrderListeners]);
    const { envelope } = await emitInRequest(started.get(EventBus), 'trace.order');
    await waitFor(() => started.get(OrderListeners).shipped === 1);
    expect(envelope.metadata.traceparent).toBeUndefined();
    expect(tracing.exporter.getFinishedSpans().map((s) => s.name)).toEqual(['request']);
  });

  describe('with a worker process', () => {
    const workers = tracedWorkers(() => server);

    it('shares the trace id with the emitter; a failed attempt records its exception', async () => {
      const prefix = `trace-proc-${process.pid}-${++seq}`;
      await workers.start(prefix, 1);
      const producer = await app({ redis: server.url, prefix, worker: false }, [TracedListener]);
      const { request } = await emitInRequest(producer.get(EventBus), 'traced.job');
      const [send] = tracing.spans('send traced.job');

      const spans = () => workers.recorded<SpanSummary>(prefix, 'spans');
      await waitFor(async () => (await spans()).length === 2, { message: 'two attempt spans' });
      const [failed, passed] = await spans();
      for (const span of [failed, passed]) {
        expect(span).toMatchObject({
          name: 'process traced.job',
          kind: SpanKind.CONSUMER,
          traceId: request.traceId,
          parentSpanId: send.spanContext().spanId,
        });
      }
      expect(failed).toMatchObject({ status: SpanStatusCode.ERROR, exceptions: 1 });
      expect(passed).toMatchObject({ status: SpanStatusCode.UNSET, exceptions: 0 });
      expect([failed, passed].map((s) => s.attributes['nestjs_events.attempt'])).toEqual([1, 2]);
      // The listener ran inside its attempt's span (its own spans would be children of it).
      const attempts = await workers.recorded<{ spanId: string }>(prefix, 'attempts');
      expect(attempts.map((a) => a.spanId)).toEqual([failed.spanId, passed.spanId]);
    });
  });
});
