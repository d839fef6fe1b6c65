// Queue benchmark: nestjs-events on Redis vs BullMQ vs a raw ioredis stream loop, side by side on
// one private redis-server. Prints a markdown section on stdout, progress on stderr.
//
//   npm run build && node bench/queue.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// Throughput: N events emitted (up to 1,000 in flight) and handled by a no-op handler; the clock
// runs from the first emit to the last handler completion. Latency: emit -> handler start at a
// steady rate. Commands per event: INFO commandstats deltas (commands run inside Lua included).
// The cost of observability, in the same run: nestjs-events as configured by default (metrics on,
// OpenTelemetry API without an SDK: no spans), with metrics and tracing off, and last (the SDK is
// registered globally, so nothing runs after it) with metrics on and tracing on through an SDK
// whose exporter drops every span.
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startRedis } from './redis-server.js';
import { EventBus, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_QUEUE_EVENTS ?? (QUICK ? 10_000 : 100_000));
const CONCURRENCIES = (process.env.BENCH_QUEUE_CONCURRENCY ?? '1,10,100').split(',').map(Number);
// BENCH_QUEUE_OURS=1: only nestjs-events throughput (a quick loop while tuning; prints no section).
const OURS_ONLY = process.env.BENCH_QUEUE_OURS === '1';
const WINDOW = 1000;
const RATE = 1000;
const LATENCY_SECONDS = QUICK ? 2 : 10;
const log = (message) => process.stderr.write(`[queue.bench] ${message}\n`);

// ---------------------------------------------------------------- helpers
let admin;
async function commandsSince() {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info' && match[1] !== 'config|resetstat') total += Number(match[2]);
  }
  return total;
}
const resetStats = () => admin.config('RESETSTAT');

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/** Emits `n` times with at most WINDOW in flight. */
async function pump(n, emitOne) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(WINDOW, n) }, async () => {
    while (next < n) await emitOne(next++);
  });
  await Promise.all(lanes);
}

/** Emits at a steady rate for `seconds`, in 10 ms ticks. */
async function steady(seconds, emitOne) {
  const total = RATE * seconds;
  const start = performance.now();
  const pending = [];
  for (let i = 0; i < total;) {
    const due = Math.floor(((performance.now() - start) / 1000) * RATE);
    while (i < Math.min(due, total)) pending.push(emitOne(i++));
    await sleep(10);
  }
  await Promise.all(pending);
}

// ---------------------------------------------------------------- nestjs-events
class Sink {
  constructor() {
    this.reset(0);
  }
  reset(target, onStart) {
    this.count = 0;
    this.target = target;
    this.onStart = onStart;
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }
  handle(event) {
    this.onStart?.(event.data.i);
    if (++this.count === this.target) this.resolve();
  }
}
{
  const method = Object.getOwnPropertyDescriptor(Sink.prototype, 'handle');
  ShouldQueue({ queue: 'bench' })(Sink.prototype, 'handle', method);
  OnEvent('bench.event')(Sink.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Sink);
  Injectable()(Sink);
}

/** What each nestjs-events row adds to `forRoot` (see the header). */
const VARIANTS = {
  default: {},
  off: { metrics: false, tracing: false },
  traced: { tracing: true },
};

/** Registers an OpenTelemetry SDK as an app would, its exporter dropping every span. */
function registerTracingSdk() {
  const dropAll = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropAll)] }),
  );
}

async function eventsApp(url, prefix, concurrency, variant = 'default') {
  class BenchModule {}
  Module({
    imports: [
      EventsModule.forRoot({ redis: url, prefix, worker: { concurrency }, ...VARIANTS[variant] }),
    ],
    providers: [Sink],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  return { app, bus: app.get(EventBus), sink: app.get(Sink) };
}

async function eventsThroughput(url, concurrency, variant = 'default') {
  const { app, bus, sink } = await eventsApp(
    url,
    `bench-t${concurrency}-${variant}`,
    concurrency,
    variant,
  );
  sink.reset(N);
  await resetStats();
  const start = performance.now();
  await pump(N, (i) => bus.emit('bench.event', { i }));
  await sink.done;
  const seconds = (performance.now() - start) / 1000;
  const commands = await commandsSince();
  await app.close();
  return { rate: N / seconds, perEvent: commands / N };
}

async function eventsLatency(url) {
  const { app, bus, sink } = await eventsApp(url, 'bench-latency', 10);
  const sentAt = new Float64Array(RATE * LATENCY_SECONDS);
  const took = [];
  sink.reset(sentAt.length, (i) => took.push(performance.now() - sentAt[i]));
  await steady(LATENCY_SECONDS, (i) => {
    sentAt[i] = performance.now();
    return bus.emit('bench.event', { i });
  });
  await sink.done;
  await app.close();
  return took.sort((a, b) => a - b);
}

// ---------------------------------------------------------------- BullMQ
async function bullmq(url, port, concurrency, name, onStart, target) {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  let count = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const worker = new Worker(
    name,
    async (job) => {
      onStart?.(job.data.i);
      if (++count === target) resolve();
    },
    { connection, concurrency },
  );
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  const add = (i) => queue.add('job', { i }, { removeOnComplete: true, removeOnFail: true });
  return {
    add,
    done,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

async function bullThroughput(url, port, concurrency) {
  const b = await bullmq(url, port, concurrency, `bull-t${concurrency}`, undefined, N);
  await resetStats();
  const start = performance.now();
  await pump(N, b.add);
  await b.done;
  const seconds = (performance.now() - start) / 1000;
  const commands = await commandsSince();
  await b.close();
  return { rate: N / seconds, perEvent: commands / N };
}

async function bullLatency(url, port) {
  const sentAt = new Float64Array(RATE * LATENCY_SECONDS);
  const took = [];
  const b = await bullmq(
    url,
    port,
    10,
    'bull-latency',
    (i) => took.push(performance.now() - sentAt[i]),
    sentAt.length,
  );
  await steady(LATENCY_SECONDS, (i) => {
    sentAt[i] = performance.now();
    return b.add(i);
  });
  await b.done;
  await b.close();
  return took.sort((a, b) => a - b);
}

// ---------------------------------------------------------------- raw ioredis
async function rawThroughput(url) {
  const producer = new Redis(url);
  const reader = new Redis(url);
  const key = 'raw:stream';
  await producer.xgroup('CREATE', key, 'g', '0', 'MKSTREAM');
  await resetStats();
  const start = performance.now();
  let handled = 0;
  const consume = (async () => {
    while (handled < N) {
      const reply = await reader.xreadgroup(
        'GROUP',
        'g',
        'c',
        'COUNT',
        100,
        'BLOCK',
        1000,
        'STREAMS',
        key,
        '>',
      );
      if (!reply) continue;
      const ids = reply[0][1].map(([id]) => id);
      handled += ids.length;
      await reader.xack(key, 'g', ...ids);
    }
  })();
  for (let sent = 0; sent < N;) {
    const batch = producer.pipeline();
    for (let k = 0; k < 100 && sent < N; k++, sent++) batch.xadd(key, '*', 'p', `{"i":${sent}}`);
    await batch.exec();
  }
  await consume;
  const seconds = (performance.now() - start) / 1000;
  const commands = await commandsSince();
  producer.disconnect();
  reader.disconnect();
  return { rate: N / seconds, perEvent: commands / N };
}

// ---------------------------------------------------------------- main
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => n.toFixed(2);

const redis = await startRedis();
admin = new Redis(redis.url);
try {
  if (OURS_ONLY) {
    for (const c of CONCURRENCIES) {
      const ours = await eventsThroughput(redis.url, c);
      log(`c=${c}: ${fmt(ours.rate)}/s, ${ours.perEvent.toFixed(2)} commands/event`);
    }
    const l = await eventsLatency(redis.url);
    log(
      `latency p50 ${ms(percentile(l, 50))} p99 ${ms(percentile(l, 99))} max ${ms(l[l.length - 1])}`,
    );
  }
} finally {
  if (OURS_ONLY) {
    admin.disconnect();
    redis.stop();
  }
}
if (OURS_ONLY) process.exit(0);
try {
  log(`raw ioredis, ${N} messages`);
  const raw = await rawThroughput(redis.url);
  const rows = [];
  for (const c of CONCURRENCIES) {
    log(`nestjs-events, concurrency ${c}`);
    const ours = await eventsThroughput(redis.url, c);
    log(`nestjs-events, metrics and tracing off, concurrency ${c}`);
    const off = await eventsThroughput(redis.url, c, 'off');
    log(`BullMQ, concurrency ${c}`);
    const bull = await bullThroughput(redis.url, redis.port, c);
    rows.push({ c, ours, off, bull });
  }
  log(`latency at ${RATE}/s for ${LATENCY_SECONDS} s`);
  const oursLatency = await eventsLatency(redis.url);
  const bullLatencies = await bullLatency(redis.url, redis.port);
  // Last: the SDK stays registered for the rest of the process.
  registerTracingSdk();
  for (const row of rows) {
    log(`nestjs-events, metrics and tracing on (SDK), concurrency ${row.c}`);
    row.traced = await eventsThroughput(redis.url, row.c, 'traced');
  }

  const out = [];
  out.push('## Queue: nestjs-events on Redis vs BullMQ vs raw ioredis');
  out.push('');
  out.push(
    `End to end (emit to handler completion), ${fmt(N)} events, no-op handler, producer and worker in one process, one private redis-server (persistence off). Commands per event from INFO commandstats (commands inside Lua scripts included).`,
  );
  out.push('');
  out.push(
    '| concurrency | nestjs-events (events/s) | BullMQ (jobs/s) | ratio vs BullMQ | % of raw ioredis | commands/event (ours) | commands/job (BullMQ) |',
  );
  out.push('|---:|---:|---:|---:|---:|---:|---:|');
  for (const { c, ours, bull } of rows) {
    out.push(
      `| ${c} | ${fmt(ours.rate)} | ${fmt(bull.rate)} | ${(ours.rate / bull.rate).toFixed(2)}× | ${((ours.rate / raw.rate) * 100).toFixed(0)}% | ${ours.perEvent.toFixed(1)} | ${bull.perEvent.toFixed(1)} |`,
    );
  }
  out.push('');
  out.push(
    'The cost of observability (same run, same Redis): the default above (metrics on, `@opentelemetry/api` installed without an SDK), everything off, and metrics with tracing on through an SDK whose exporter drops every span (`BatchSpanProcessor`).',
  );
  out.push('');
  out.push(
    '| concurrency | metrics + tracing off (events/s) | default (events/s) | metrics + tracing on, SDK (events/s) | traced vs off | traced vs BullMQ |',
  );
  out.push('|---:|---:|---:|---:|---:|---:|');
  for (const { c, ours, off, traced, bull } of rows) {
    out.push(
      `| ${c} | ${fmt(off.rate)} | ${fmt(ours.rate)} | ${fmt(traced.rate)} | ${(traced.rate / off.rate).toFixed(2)}× | ${(traced.rate / bull.rate).toFixed(2)}× |`,
    );
  }
  out.push('');
  out.push(
    `Raw ioredis stream loop (pipelined XADD ×100, XREADGROUP COUNT 100, XACK): ${fmt(raw.rate)} messages/s, ${raw.perEvent.toFixed(2)} commands/message.`,
  );
  out.push('');
  out.push(
    `Latency, emit to handler start, steady ${fmt(RATE)} events/s for ${LATENCY_SECONDS} s (concurrency 10):`,
  );
  out.push('');
  out.push('| | p50 (ms) | p99 (ms) | max (ms) |');
  out.push('|---|---:|---:|---:|');
  for (const [name, l] of [
    ['nestjs-events', oursLatency],
    ['BullMQ', bullLatencies],
  ]) {
    out.push(
      `| ${name} | ${ms(percentile(l, 50))} | ${ms(percentile(l, 99))} | ${ms(l[l.length - 1])} |`,
    );
  }
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  admin.disconnect();
  redis.stop();
}
process.exit(0);
