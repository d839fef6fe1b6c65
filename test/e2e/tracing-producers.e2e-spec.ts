import { Controller, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventsClient,
  EventsServer,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { installTracing, type TestTracing } from '../support/tracing.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class BulkListeners {
  readonly handled: string[] = [];

  @OnEvent('bulk.queued')
  @ShouldQueue({ queue: 'bulk' })
  onQueued(event: EventEnvelope<{ n: number }>): void {
    this.handled.push(event.metadata.traceparent ?? '');
  }

  @OnEvent('bulk.local')
  onLocal(): void {}
}

@Controller()
class TracedHandlers {
  readonly seen: string[] = [];

  @EventPattern<string>('standalone.order', { queue: 'standalone' })
  created(@Payload() data: { id: string }): void {
    this.seen.push(data.id);
  }
}

@Module({ controllers: [TracedHandlers] })
class StandaloneWorkerModule {}

let tracing: TestTracing;
let server: RedisServer;
let seq = 0;
const open: { close(): Promise<unknown> }[] = [];
const tracer = trace.getTracer('test');
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

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
  for (const app of open.splice(0).reverse()) await app.close();
});

describe('Tracing of bulk emits and of the microservice transport', () => {
  it('emitMany opens a PRODUCER span per event with jobs, each the parent of its attempts', async () => {
    const app: INestApplicationContext = await createTestApp(
      { providers: [BulkListeners] },
      { redis: server.url, prefix: `trace-bulk-${process.pid}-${++seq}` },
    );
    open.push(app);
    const { request, envelopes } = await tracer.startActiveSpan('request', async (span) => {
      const sent = await app.get(EventBus).emitMany([
        { name: 'bulk.queued', data: { n: 1 } },
        { name: 'bulk.local', data: {} },
        { name: 'bulk.queued', data: { n: 2 } },
      ]);
      span.end();
      return { request: span.spanContext(), envelopes: sent };
    });
    await waitFor(() => tracing.spans('process bulk.queued').length === 2);

    const sends = tracing.spans('send bulk.queued');
    expect(sends).toHaveLength(2);
    expect(tracing.spans('send bulk.local')).toEqual([]);
    for (const send of sends) {
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(send.spanContext().traceId).toBe(request.traceId);
      expect(parentOf(send)).toBe(request.spanId);
      expect(send.attributes['messaging.destination.name']).toBe('bulk');
    }
    // Each event carries its own span's context, and its attempt is that span's child.
    const [first, , third] = envelopes;
    const sendOf = (envelope: EventEnvelope) =>
      sends.find((s) => envelope.metadata.traceparent?.includes(s.spanContext().spanId));
    expect(sendOf(first)).toBeDefined();
    expect(sendOf(third)).toBeDefined();
    expect(sendOf(first)).not.toBe(sendOf(third));
    expect(envelopes[1].metadata.traceparent).toBeUndefined();
    const processes = tracing.spans('process bulk.queued');
    expect(processes.map(parentOf).sort()).toEqual(
      [sendOf(first)!.spanContext().spanId, sendOf(third)!.spanContext().spanId].sort(),
    );
  });

  it('EventsClient.emit is a PRODUCER span; a standalone EventsServer handles it in its trace', async () => {
    const prefix = `trace-ms-${process.pid}-${++seq}`;
    const worker = await NestFactory.createMicroservice(StandaloneWorkerModule, {
      strategy: new EventsServer({ redis: server.url, prefix }),
      logger: false,
    });
    await worker.listen();
    open.push(worker);
    const client = new EventsClient({ redis: server.url, prefix });
    open.push(client);

    const { request, envelope } = await tracer.startActiveSpan('request', async (span) => {
      const sent = await lastValueFrom(client.emit('standalone.order', { id: 'o1' }));
      span.end();
      return { request: span.spanContext(), envelope: sent };
    });
    await waitFor(() => worker.get(TracedHandlers).seen.length === 1);
    await waitFor(() => tracing.spans('process standalone.order').length > 0);

    const [send] = tracing.spans('send standalone.order');
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(send)).toBe(request.spanId);
    expect(envelope.metadata.traceparent).toContain(send.spanContext().spanId);
    const handled = tracing
      .spans('process standalone.order')
      .find((s) => s.attributes['messaging.destination.name'] === 'standalone');
    expect(handled?.kind).toBe(SpanKind.CONSUMER);
    expect(handled?.spanContext().traceId).toBe(request.traceId);
  });
});
