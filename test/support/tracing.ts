import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';

/** An OpenTelemetry SDK registered globally for a spec file, its spans kept in memory. */
export interface TestTracing {
  readonly exporter: InMemorySpanExporter;
  /** The finished spans named `name`, in the order they ended. */
  spans(name: string): ReadableSpan[];
  /** Unregisters everything (the API is a no-op again). */
  uninstall(): Promise<void>;
}

/**
 * Registers a tracer provider, the async-hooks context manager and the W3C propagator.
 * @param sampler the provider's sampler (default: the SDK's, which records every span)
 */
export function installTracing(sampler?: Sampler): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    sampler,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    spans: (name) => exporter.getFinishedSpans().filter((span) => span.name === name),
    async uninstall() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
