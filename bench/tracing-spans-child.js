// CPU per span of the bus's OpenTelemetry adapter against the bare SDK calls any instrumentation
// of the same spans makes, for bench/tracing.bench.js. Prints one JSON line on stdout.
//
//   SAMPLER=on|off COUNT=20000 ROUNDS=7 node bench/tracing-spans-child.js
//
// `send`: the PRODUCER span of an emit (trace context written into the metadata, `store` run
// inside it); `process`: the CONSUMER span of one attempt (context read from the metadata, the
// attempt run inside it). `bare` makes the same spans with the fewest API calls (extract or
// active context, startSpan with the same name, kind and creation attributes, setSpan, inject,
// context.with, end): what is left between the two is the adapter's own. CPU time of this
// process (process.cpuUsage), median of ROUNDS, minus an empty loop of the same awaits; the
// SDK registered as in tracing-child.js, `SAMPLER=off` with a sampler that drops every span.
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
// Internal on purpose: the adapter alone, without the bus and transport around it.
import { loadOpenTelemetryTracer } from '../dist/tracing/opentelemetry.adapter.js';

const env = process.env;
const COUNT = Number(env.COUNT ?? 20_000);
const ROUNDS = Number(env.ROUNDS ?? 7);
const dropAll = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({
    sampler: env.SAMPLER === 'off' ? new AlwaysOffSampler() : undefined,
    spanProcessors: [new BatchSpanProcessor(dropAll)],
  }),
);
const options = { isEnabled: true, isRequired: true, tracerName: 'bench' };
const ours = await loadOpenTelemetryTracer(options, 'redis');
const tracer = trace.getTracer('bench');
const job = { id: 'job-1', queue: 'bench', listener: 'BenchListeners.l0', attempt: 1 };
const done = () => Promise.resolve();

const envelopes = () =>
  Array.from({ length: COUNT }, (_, i) => ({
    id: `event-${i}`,
    name: 'bench.event',
    data: { i },
    metadata: { correlationId: `c-${i}` },
    timestamp: 0,
  }));

const bare = {
  send(envelope) {
    const parent = context.active();
    const span = tracer.startSpan(
      'send bench.event',
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'redis',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': 'bench',
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    propagation.inject(active, envelope.metadata);
    return context.with(active, done).then(() => span.end());
  },
  process(envelope) {
    const parent = propagation.extract(ROOT_CONTEXT, envelope.metadata);
    const span = tracer.startSpan(
      'process bench.event',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'redis',
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': 'bench',
          'nestjs_events.listener': 'BenchListeners.l0',
        },
      },
      parent,
    );
    return context.with(trace.setSpan(parent, span), done).then(() => span.end());
  },
};
const adapter = {
  send: (envelope) => ours.send(envelope, [job.queue], done),
  process: (envelope) => ours.process(envelope, job, done),
};

const cpuNs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};

/** CPU ns per call of `fn` over fresh envelopes (sent first when `sent`, as a worker gets them). */
async function measure(fn, sent) {
  const list = envelopes();
  if (sent) for (const e of list) await bare.send(e);
  const start = cpuNs();
  for (const e of list) await fn(e);
  return (cpuNs() - start) / COUNT;
}

const subjects = {
  base: () => measure(done, false),
  oursSend: () => measure(adapter.send, false),
  bareSend: () => measure(bare.send, false),
  oursProcess: () => measure(adapter.process, true),
  bareProcess: () => measure(bare.process, true),
};
const samples = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, run] of Object.entries(subjects)) {
    const ns = await run();
    if (round > 0) samples[name].push(ns); // round 0 warms up
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const base = median(samples.base);
const result = {};
for (const name of Object.keys(subjects)) {
  if (name !== 'base') result[name] = Math.max(0, median(samples[name]) - base);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
