// The worker's own cost per job, without Redis: JobRunner.process over no-op jobs (a plain sync
// listener, metrics and tracing off) with a transport that acknowledges at once, 10 at a time.
// Prints CPU time per job (process.cpuUsage, median and best of 5 rounds of 100,000 jobs).
//
//   npm run build && node bench/job-runner.bench.js        (ASYNC=1: an async listener)
//
// METRICS=1 counts and times every attempt as `EventMetrics` does (the default `metrics`);
// TRACING=1 runs each in a CONSUMER span through the adapter and an OpenTelemetry SDK registered
// as an app would (its exporter drops every span), the job carrying its emit's `traceparent`.
// Also prints the bytes allocated per job (heap growth over 2,000 jobs after a full GC: run
// with --expose-gc --max-semi-space-size=64 so that no scavenge falls inside).
//
// It measures what the queue bench cannot separate from Redis and the socket: the path from a
// reserved job to its ack request (decode, bookkeeping, context, call, outcome). On a loaded
// machine compare two builds in the same session (ROOT=<dir with dist/>), taking turns.
import 'reflect-metadata';
import { resolve } from 'node:path';
import { pathToFileURL, URL } from 'node:url';

const root = pathToFileURL(resolve(process.env.ROOT ?? new URL('..', import.meta.url).pathname));
const load = (path) => import(new URL(`dist/${path}`, `${root}/`).href);
const { ListenerRegistry } = await load('discovery/listener.registry.js');
const { serializeEnvelope } = await load('event/event.serializer.js');
const { InFlight } = await load('queue/in-flight.js');
const { JobRunner } = await load('queue/job-runner.js');
const { JobSettler } = await load('queue/job-settler.js');

const env = process.env;
const ROUND = Number(env.ROUND ?? 100_000);
let tracer = null;
if (env.TRACING === '1') {
  const { context, propagation, trace } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const dropAll = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropAll)] }),
  );
  const { loadOpenTelemetryTracer } = await load('tracing/opentelemetry.adapter.js');
  const options = { isEnabled: true, isRequired: true, tracerName: 'bench' };
  tracer = await loadOpenTelemetryTracer(options, 'redis');
}
const WIDTH = 10;
const registry = new ListenerRegistry();
registry.add({
  id: 'Bench.handle',
  patterns: ['bench.event'],
  priority: 0,
  info: { id: 'Bench.handle', isQueued: true },
  invoke: process.env.ASYNC === '1' ? async () => undefined : () => undefined,
  isAsync: process.env.ASYNC === '1',
  queue: { queue: 'bench', tries: 3, backoff: 0, timeout: 0, delay: 0 },
  eventClasses: [],
});
const inFlight = new InFlight();
const transport = { ack: () => Promise.resolve() };
// The settler's give-up signal: never fired here (no settle fails).
const settler = new JobSettler(transport, { aborted: false });
const runner = new JobRunner(
  settler,
  registry,
  inFlight,
  { unknownListenerGraceMs: 0 },
  () => {},
  undefined,
  undefined,
  tracer,
);
if (env.METRICS === '1') {
  // EventMetrics as the module builds it, its collaborators reduced to what it asks of them.
  const { EventMetrics } = await load('observability/event-metrics.js');
  const options = { metrics: { isEnabled: true, inProcess: false, maxEventLabels: 500 } };
  const worker = { observeAttempts: (observer) => (runner.observer = observer) };
  new EventMetrics(options, {}, registry, worker, {}, {}, {});
}
const payload = serializeEnvelope(
  {
    id: 'e1',
    name: 'bench.event',
    data: { i: 1 },
    metadata: {
      correlationId: 'e1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
    timestamp: 1,
  },
  1 << 20,
);
const jobs = Array.from({ length: 1000 }, (_, n) => ({
  id: `e${n}:Bench.handle`,
  queue: 'bench',
  listener: 'Bench.handle',
  payload,
  attempt: 1,
  enqueuedAt: 1,
  receipt: `1-${n}/1`,
}));

async function round(count) {
  for (let k = 0; k < count; k += WIDTH) {
    const running = [];
    for (let j = 0; j < WIDTH; j++) running.push(runner.process(jobs[(k + j) % jobs.length]));
    await Promise.all(running);
  }
  while (inFlight.settling.size > 0) await Promise.all([...inFlight.settling.keys()]);
}

await round(ROUND / 2);
const nsPerJob = [];
for (let r = 0; r < 5; r++) {
  const cpu = process.cpuUsage();
  await round(ROUND);
  const used = process.cpuUsage(cpu);
  nsPerJob.push(Math.round(((used.user + used.system) * 1000) / ROUND));
}
nsPerJob.sort((a, b) => a - b);
let bytesPerJob = NaN;
if (typeof globalThis.gc === 'function') {
  const { getHeapStatistics } = await import('node:v8');
  const bytes = [];
  for (let r = 0; r < 5; r++) {
    globalThis.gc();
    const before = getHeapStatistics().used_heap_size;
    await round(2000);
    bytes.push((getHeapStatistics().used_heap_size - before) / 2000);
  }
  bytesPerJob = bytes.sort((a, b) => a - b)[2];
}
const [loadAverage] = (await import('node:os')).loadavg();
console.log(
  `JobRunner alone (${env.ASYNC === '1' ? 'async' : 'sync'} no-op listener` +
    `${env.METRICS === '1' ? ', metrics' : ''}${env.TRACING === '1' ? ', traced' : ''}: ` +
    `${nsPerJob[2]} ns CPU per job (median of 5 x ${ROUND}), best ${nsPerJob[0]}; ` +
    `${Math.round(bytesPerJob)} bytes allocated per job; ` +
    `load average ${loadAverage.toFixed(1)}`,
);
