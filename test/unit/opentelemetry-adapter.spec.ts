import { context, propagation, ProxyTracer, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventEnvelope } from 'nestjs-events';
import { loadOpenTelemetryTracer } from '../../lib/tracing/opentelemetry.adapter.js';
import { installTracing, type TestTracing } from '../support/tracing.js';

const event: EventEnvelope = {
  id: 'e1',
  name: 'otel.adapter',
  data: {},
  metadata: {},
  timestamp: 1,
};
const attempt = { id: 'e1:L.handle', queue: 'q', listener: 'L.handle', attempt: 1 };

let tracing: TestTracing | undefined;

/** The adapter, on the API as an app without an SDK has it (another spec may have left one). */
async function loadWithoutSdk() {
  trace.disable();
  propagation.disable();
  context.disable();
  return loadOpenTelemetryTracer(
    { isEnabled: true, isRequired: true, tracerName: 'test', isDetailed: false },
    'memory',
  );
}

afterEach(async () => {
  vi.restoreAllMocks();
  await tracing?.uninstall();
  tracing = undefined;
});

describe('OpenTelemetry adapter: an attempt', () => {
  it('makes no span while no SDK or propagator is registered, and one once an SDK is', async () => {
    const tracer = await loadWithoutSdk();
    const startSpan = vi.spyOn(ProxyTracer.prototype, 'startSpan');
    const run = vi.fn(() => undefined);
    expect(tracer!.process(event, attempt, run)).toBeUndefined();
    expect(run).toHaveBeenCalledTimes(1);
    // A span that nothing records, in a context nothing reads: built for every job until now.
    expect(startSpan).not.toHaveBeenCalled();

    // An SDK registered after the app started still gets every attempt's span.
    tracing = installTracing();
    tracer!.process(event, attempt, run);
    expect(run).toHaveBeenCalledTimes(2);
    expect(tracing.spans('process otel.adapter')).toHaveLength(1);
  });
});

describe('OpenTelemetry adapter: an emit', () => {
  it('makes no span while nothing traces, and drops the trace context it inherited', async () => {
    const tracer = await loadWithoutSdk();
    const startSpan = vi.spyOn(ProxyTracer.prototype, 'startSpan');
    const inherited = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    const envelope = { ...event, metadata: { traceparent: inherited, correlationId: 'c1' } };
    const stored = await tracer!.send(envelope, ['q'], () => Promise.resolve('stored'));
    expect(stored).toBe('stored');
    expect(startSpan).not.toHaveBeenCalled();
    expect(envelope.metadata).toEqual({ correlationId: 'c1' });

    tracing = installTracing();
    await tracer!.send({ ...event, metadata: {} }, ['q'], () => Promise.resolve());
    expect(tracing.spans('send otel.adapter')).toHaveLength(1);
  });
});
