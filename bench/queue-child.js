// One library in its own process, for bench/queue-tails.bench.js: nestjs-events or BullMQ on the
// parent's redis-server. Prints one JSON line on stdout; progress on stderr.
//
//   LIB=ours|bullmq MODE=latency RATE=1000 CONCURRENCY=10 SECONDS=5 REDIS_URL=... PREFIX=...
//     emits at a steady rate (1 ms ticks) to a no-op handler: emit -> handler start, the emit's
//     own promise, and the process's GC pauses (perf_hooks 'gc' entries) while it ran.
//   LIB=ours|bullmq MODE=bulk EVENTS=100000 BATCH=1000 ...
//     stores EVENTS jobs with emitMany / addBulk in batches of BATCH, no worker: jobs stored / s.
//   MODE=worker: the worker alone (with a NO_WORKER=1 latency producer on the same PREFIX), to
//     profile one side at a time. SNAPSHOT and HEAP_SAMPLE: see bench/README.md.
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { URL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { EventBus, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const env = process.env;
const LIB = env.LIB;
const MODE = env.MODE ?? 'latency';
const RATE = Number(env.RATE ?? 1000);
const CONCURRENCY = Number(env.CONCURRENCY ?? 10);
const SECONDS = Number(env.SECONDS ?? 5);
const WARMUP_SECONDS = Number(env.WARMUP_SECONDS ?? 1);
const EVENTS = Number(env.EVENTS ?? 100_000);
const BATCH = Number(env.BATCH ?? 1000);
const url = new URL(env.REDIS_URL);

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}
const summary = (values) => {
  const s = Float64Array.from(values).sort();
  return {
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    p999: percentile(s, 99.9),
    max: s[s.length - 1],
  };
};

// ---------------------------------------------------------------- the two libraries
let onStart;
class Sink {
  handle(event) {
    onStart?.(event.data.i);
  }
}
{
  const method = Object.getOwnPropertyDescriptor(Sink.prototype, 'handle');
  ShouldQueue({ queue: 'bench' })(Sink.prototype, 'handle', method);
  OnEvent('bench.event')(Sink.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Sink);
  Injectable()(Sink);
}

async function ours(withWorker) {
  class BenchModule {}
  Module({
    imports: [
      EventsModule.forRoot({
        redis: env.REDIS_URL,
        prefix: env.PREFIX,
        worker: withWorker ? { concurrency: CONCURRENCY } : false,
        // Profiling aid: TRACING=0 turns spans off (on by default with @opentelemetry/api).
        ...(env.TRACING === '0' ? { tracing: false } : {}),
        ...(env.ALS === '0' ? { asyncContext: false } : {}),
        ...(env.METRICS === '0' ? { metrics: false } : {}),
      }),
    ],
    providers: [Sink],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  const bus = app.get(EventBus);
  return {
    add: (i) => bus.emit('bench.event', { i }),
    addMany: (from, n) =>
      bus.emitMany(
        Array.from({ length: n }, (_, k) => ({ name: 'bench.event', data: { i: from + k } })),
      ),
    close: () => app.close(),
  };
}

async function bullmq(withWorker) {
  // Profiling aid: PEER_ALS=1 runs BullMQ with an AsyncLocalStorage entered, as in apps using
  // nestjs-cls or OpenTelemetry (on Node 20 that turns on promise hooks for every promise).
  if (env.PEER_ALS === '1') new AsyncLocalStorage().enterWith({ app: true });
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  const queue = new Queue(env.PREFIX, { connection });
  const worker = withWorker
    ? new Worker(env.PREFIX, async (job) => onStart?.(job.data.i), {
        connection,
        concurrency: CONCURRENCY,
      })
    : undefined;
  await worker?.waitUntilReady();
  await queue.waitUntilReady();
  const opts = { removeOnComplete: true, removeOnFail: true };
  return {
    add: (i) => queue.add('job', { i }, opts),
    addMany: (from, n) =>
      queue.addBulk(
        Array.from({ length: n }, (_, k) => ({ name: 'job', data: { i: from + k }, opts })),
      ),
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}

async function heapSampler() {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(env.HEAP_SAMPLE, JSON.stringify(profile));
  };
}

// ---------------------------------------------------------------- modes
async function latency(lib) {
  const warm = RATE * WARMUP_SECONDS;
  const total = warm + RATE * SECONDS;
  const sentAt = new Float64Array(total);
  const started = new Float64Array(total);
  const emitted = new Float64Array(total);
  let handled = 0;
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  onStart = (i) => {
    started[i] = performance.now();
    if (++handled === total) resolveDone();
  };
  const gcs = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.startTime >= measureFrom)
        gcs.push({ ms: entry.duration, kind: entry.detail?.kind });
    }
  });
  let measureFrom = Infinity;
  observer.observe({ entryTypes: ['gc'] });
  // Profiling aid: HEAP_SAMPLE=<file> samples the allocations that outlive the young generation
  // (survive scavenges, die in a later mark-compact) and writes them as a .heapprofile.
  const sampler = env.HEAP_SAMPLE ? await heapSampler() : undefined;
  // Outstanding emits are counted, not kept: the harness retains nothing per event.
  let outstanding = 0;
  let resolveSettled;
  const settled = new Promise((r) => (resolveSettled = r));
  let failure;
  const start = performance.now();
  for (let i = 0; i < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE));
    while (i < due) {
      if (i === warm) measureFrom = performance.now();
      const k = i++;
      const at = (sentAt[k] = performance.now());
      outstanding++;
      lib.add(k).then(
        () => {
          emitted[k] = performance.now() - at;
          if (--outstanding === 0 && i === total) resolveSettled();
        },
        (error) => (failure ??= error),
      );
      // Profiling aid: a heap snapshot in the steady state (what lives across scavenges).
      if (env.SNAPSHOT && k === Math.floor(total * 0.7))
        (await import('node:v8')).writeHeapSnapshot(env.SNAPSHOT);
    }
    await sleep(1);
  }
  if (outstanding > 0) await settled;
  if (failure) throw failure;
  if (env.NO_WORKER !== '1') await done;
  observer.disconnect();
  await sampler?.();
  const toStart = [];
  const emit = [];
  for (let i = warm; i < total; i++) {
    toStart.push(started[i] - sentAt[i]);
    emit.push(emitted[i]);
  }
  const minor = gcs.filter((g) => g.kind === 1);
  return {
    start: summary(toStart),
    emit: summary(emit),
    gc: {
      count: gcs.length,
      minor: minor.length,
      minorMeanMs: minor.reduce((a, g) => a + g.ms, 0) / (minor.length || 1),
      maxMs: Math.max(0, ...gcs.map((g) => g.ms)),
      totalMs: gcs.reduce((a, g) => a + g.ms, 0),
    },
  };
}

async function bulk(lib) {
  // Warm up (first script load, JIT), then measure.
  await lib.addMany(0, BATCH);
  const start = performance.now();
  for (let from = 0; from < EVENTS; from += BATCH)
    await lib.addMany(from, Math.min(BATCH, EVENTS - from));
  return { rate: EVENTS / ((performance.now() - start) / 1000) };
}

// NO_WORKER=1 (profiling aid): the latency mode's producer alone, nothing handled.
const withWorker = (MODE === 'latency' && env.NO_WORKER !== '1') || MODE === 'worker';
const lib = LIB === 'ours' ? await ours(withWorker) : await bullmq(withWorker);
if (!withWorker) onStart = undefined;
// MODE=worker (profiling aid): the worker alone, until RATE * (WARMUP_SECONDS + SECONDS) jobs
// were handled; run a NO_WORKER=1 producer on the same PREFIX beside it.
async function workerOnly() {
  const total = RATE * (WARMUP_SECONDS + SECONDS);
  let handled = 0;
  const sampler = env.HEAP_SAMPLE ? await heapSampler() : undefined;
  await new Promise((resolve) => {
    onStart = () => {
      if (++handled === total) resolve();
    };
  });
  await sampler?.();
  return { handled };
}
const result =
  MODE === 'bulk' ? await bulk(lib) : MODE === 'worker' ? await workerOnly() : await latency(lib);
await lib.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
