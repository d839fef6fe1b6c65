import { Controller, Post, type INestApplication } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventContext,
  EventCorrelationInterceptor,
  EventsModule,
  type EventsModuleOptions,
} from 'nestjs-events';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { installTracing, type TestTracing } from '../support/tracing.js';
import { waitFor } from '../support/wait-for.js';
import { tracedWorkers, TracedListener } from '../fixtures/traced-worker.js';

@Controller('orders')
class OrdersController {
  constructor(private readonly bus: EventBus) {}

  @Post()
  async place(): Promise<{ emitted: string; context: string | undefined }> {
    await Promise.resolve(); // the context survives awaits in the handler
    const envelope = await this.bus.emit('traced.job', {});
    return { emitted: envelope.metadata.correlationId, context: EventContext.get('correlationId') };
  }
}

let server: RedisServer;
let tracing: TestTracing;
let seq = 0;
const apps: INestApplication[] = [];

beforeAll(async () => {
  tracing = installTracing();
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
  await tracing?.uninstall();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A real HTTP app (Express) on a free port, the interceptor registered the DI way. */
async function startHttpApp(options: EventsModuleOptions): Promise<string> {
  const moduleRef = await Test.createTestingModule({
    imports: [EventsModule.forRoot({ worker: false, ...options })],
    controllers: [OrdersController],
    providers: [
      TracedListener,
      { provide: APP_INTERCEPTOR, useClass: EventCorrelationInterceptor },
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return `${await app.getUrl()}/orders`;
}

async function post(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers });
  const body = (await response.json()) as { emitted: string; context?: string };
  return { headers: response.headers, body };
}

describe('Correlation from HTTP', () => {
  it('a configured header is read and echoed; a missing or unusable one gets a new id', async () => {
    const url = await startHttpApp({ correlation: { header: 'X-Request-ID' } });
    const given = await post(url, { 'x-request-id': 'req-42' });
    expect(given.headers.get('x-request-id')).toBe('req-42');
    expect(given.body).toEqual({ emitted: 'req-42', context: 'req-42' });
    // The default header means nothing here.
    const other = await post(url, { 'x-correlation-id': 'req-43' });
    expect(other.body.emitted).not.toBe('req-43');
    const unusable = await post(url, { 'x-request-id': 'x'.repeat(201) });
    const ids = [other, unusable].map((r) => r.headers.get('x-request-id'));
    expect(ids.map((id) => id?.length)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(new Set([...ids, 'req-42', 'x'.repeat(201)]).size).toBe(4);
    expect([other, unusable].map((r) => r.body.emitted)).toEqual(ids);
  });

  describe('with a worker process', () => {
    const workers = tracedWorkers(() => server);

    async function jobMetadata(prefix: string): Promise<Record<string, string>[]> {
      const attempts = () =>
        workers.recorded<{ metadata: Record<string, string> }>(prefix, 'attempts');
      await waitFor(async () => (await attempts()).length === 2, {
        message: 'two jobs run by the worker process',
      });
      return (await attempts()).map((a) => a.metadata);
    }

    it('the job of a request with X-Correlation-ID and traceparent reads the same id and trace', async () => {
      const prefix = `corr-${process.pid}-${++seq}`;
      tracing.exporter.reset();
      await workers.start(prefix);
      const url = await startHttpApp({ redis: server.url, prefix });
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
      const first = await post(url, { 'X-Correlation-ID': 'order-7', traceparent });
      expect(first.headers.get('x-correlation-id')).toBe('order-7');
      expect(first.body).toEqual({ emitted: 'order-7', context: 'order-7' });
      // Without the header: a new id, echoed, and carried by the job.
      const second = await post(url);
      const generated = second.headers.get('x-correlation-id');
      expect(generated).toMatch(/^\S+$/);
      expect(generated).not.toBe('order-7');
      expect(second.body).toEqual({ emitted: generated, context: generated });

      const [withHeader, without] = await jobMetadata(prefix);
      expect(withHeader.correlationId).toBe('order-7');
      expect(without.correlationId).toBe(generated);
      // The emit's span continued the caller's trace, and the job carries it on.
      const [send] = tracing.spans('send traced.job');
      expect(send.spanContext().traceId).toBe(traceId);
      expect(send.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
      expect(withHeader.traceparent).toBe(`00-${traceId}-${send.spanContext().spanId}-01`);
      expect(without.traceparent).not.toContain(traceId);
      expect(trace.getActiveSpan()).toBeUndefined();
    });
  });
});
