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

afterEach(async () => {
  vi.restoreAllMocks();
  await tracing?.uninstall();
  tracing = undefined;
});

describe('OpenTelemetry adapter: an attempt', () => {
  it('makes no span while no SDK or propagator is registered, and one once an SDK is', async () => {
    // The API as an app without an SDK has it (another spec file may have left one behind).
    trace.disable();
    propagation.disable();
    context.disable();
    const tracer = await loadOpenTelemetryTracer(
      { isEnabled: true, isRequired: true, tracerName: 'test' },
      'memory',
    );
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
