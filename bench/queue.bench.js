// Queue benchmark: nestjs-events on Redis vs BullMQ vs a raw ioredis stream loop, side by side on
// one private redis-server. Prints a markdown section on stdout, progress on stderr.
//
//   npm run build && node bench/queue.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// Throughput: N events emitted (up to 1,000 in flight) and handled by a no-op handler; the clock
// runs from the first emit to the last handler completion. Latency: emit -> handler start at a
// steady rate. Commands per event: INFO commandstats deltas (commands run inside Lua included).
// The cost of observability, in the same run: nestjs-events as configured by default (metrics on,
// OpenTelemetry API without an SDK: no spans), with metrics and tracing off, with Prometheus on
// too (scraped every second), and with metrics, Prometheus and tracing on through an SDK whose
// exporter drops every span; beside it BullMQ traced by its own OpenTelemetry integration
// (`bullmq-otel`) on the same SDK.
//
// Every case runs in a fresh process of its own (`--child <case> <concurrency> <url>`): our
// AsyncLocalStorage's promise hooks (Node 20) and a registered tracing SDK would otherwise tax
// whatever ran after them in a shared process. BENCH_QUEUE_RUNS rounds of the throughput cases
// (default 3), taking turns; medians ± spread (half the range over the median).
import 'reflect-metadata';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { URL, fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { clearInterval, setInterval } from 'node:timers';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { Registry } from 'prom-client';
import { Redis } from 'ioredis';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startRedis } from './redis-server.js';
import { median, rotated, runChild, spread } from './rounds.js';
import { EventBus, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_QUEUE_EVENTS ?? (QUICK ? 10_000 : 100_000));
const CONCURRENCIES = (process.env.BENCH_QUEUE_CONCURRENCY ?? '1,10,100').split(',').map(Number);
// BENCH_QUEUE_OURS=1: only nestjs-events throughput (a quick loop while tuning; prints no section).
const OURS_ONLY = process.env.BENCH_QUEUE_OURS === '1';
const RUNS = Number(process.env.BENCH_QUEUE_RUNS ?? (QUICK ? 1 : 3));
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

/** Redis's CPU seconds so far (user + sys, INFO cpu): what the load moves less than wall time. */
async function redisCpu() {
  const info = await admin.info('cpu');
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Starts a CPU clock (this process and Redis); `stop(n)` gives each one's microseconds per job. */
async function cpuClock() {
  const redisStart = await redisCpu();
  const start = process.cpuUsage();
  return async (n) => {
    const used = process.cpuUsage(start);
    const redisUsed = (await redisCpu()) - redisStart;
    return { cpuUs: (used.user + used.system) / n, redisCpuUs: (redisUsed * 1e6) / n };
  };
}

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

/** What each nestjs-events row adds to `forRoot` (see the header); a function: a fresh registry. */
const VARIANTS = {
  default: () => ({}),
  off: () => ({ metrics: false, tracing: false }),
  prom: () => ({ metrics: { prometheus: { registry: new Registry() } }, tracing: false }),
  traced: () => ({ metrics: { prometheus: { registry: new Registry() } }, tracing: true }),
};

/** Scrapes the app's registry every second while `done` is pending, as Prometheus would. */
function scraping(options, done) {
  const registry = options.metrics?.prometheus?.registry;
  if (registry === undefined) return;
  const timer = setInterval(() => void registry.metrics(), 1000);
  void done.then(() => clearInterval(timer));
}

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
  const options = VARIANTS[variant]();
  Module({
    imports: [EventsModule.forRoot({ redis: url, prefix, worker: { concurrency }, ...options })],
    providers: [Sink],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  return { app, bus: app.get(EventBus), sink: app.get(Sink), options };
}

async function eventsThroughput(url, concurrency, variant = 'default') {
  const { app, bus, sink, options } = await eventsApp(
    url,
    `bench-t${concurrency}-${variant}-${process.pid}`,
    concurrency,
    variant,
  );
  sink.reset(N);
  scraping(options, sink.done);
  await resetStats();
  const cpu = await cpuClock();
  const start = performance.now();
  await pump(N, (i) => bus.emit('bench.event', { i }));
  await sink.done;
  const seconds = (performance.now() - start) / 1000;
  const cpuPerEvent = await cpu(N);
  const commands = await commandsSince();
  await app.close();
  return { rate: N / seconds, perEvent: commands / N, ...cpuPerEvent };
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
async function bullmq(url, port, concurrency, name, onStart, target, isTraced = false) {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  // BullMQ's own OpenTelemetry integration: spans for add and for each job's processing.
  const telemetry = isTraced ? new BullMQOtel('bench') : undefined;
  const queue = new Queue(name, { connection, telemetry });
  let count = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const worker = new Worker(
    name,
    async (job) => {
      onStart?.(job.data.i);
      if (++count === target) resolve();
    },
    { connection, concurrency, telemetry },
  );
  // On a loaded machine a job may lose its lock and fail (`Missing lock`): it ended all the same,
  // and counting it keeps the run from waiting for it forever.
  worker.on('failed', () => {
    if (++count === target) resolve();
  });
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

async function bullThroughput(url, port, concurrency, isTraced = false) {
  const b = await bullmq(
    url,
    port,
    concurrency,
    `bull-t${concurrency}-${process.pid}`,
    undefined,
    N,
    isTraced,
  );
  await resetStats();
  const cpu = await cpuClock();
  const start = performance.now();
  await pump(N, b.add);
  await b.done;
  const seconds = (performance.now() - start) / 1000;
  const cpuPerEvent = await cpu(N);
  const commands = await commandsSince();
  await b.close();
  return { rate: N / seconds, perEvent: commands / N, ...cpuPerEvent };
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
  const key = `raw:stream:${process.pid}`;
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

// ---------------------------------------------------------------- cases, each in its own process
const summarize = (l) => ({ p50: percentile(l, 50), p99: percentile(l, 99), max: l[l.length - 1] });
const portOf = (url) => Number(new URL(url).port);
const CASES = {
  ours: (url, c) => eventsThroughput(url, c),
  off: (url, c) => eventsThroughput(url, c, 'off'),
  prom: (url, c) => eventsThroughput(url, c, 'prom'),
  traced: (url, c) => {
    registerTracingSdk();
    return eventsThroughput(url, c, 'traced');
  },
  bull: (url, c) => bullThroughput(url, portOf(url), c),
  'bull-traced': (url, c) => {
    registerTracingSdk();
    return bullThroughput(url, portOf(url), c, true);
  },
  raw: (url) => rawThroughput(url),
  'ours-latency': async (url) => summarize(await eventsLatency(url)),
  'bull-latency': async (url) => summarize(await bullLatency(url, portOf(url))),
};

if (process.argv[2] === '--child') {
  const [, , , name, c, url] = process.argv;
  admin = new Redis(url);
  const result = await CASES[name](url, Number(c));
  admin.disconnect();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

const SELF = fileURLToPath(import.meta.url);
const loads = [];
/** Runs one case in a fresh process; resolves to what it printed. */
function child(name, c, url) {
  log(`${name}, concurrency ${c} (load ${loadavg()[0].toFixed(2)})`);
  loads.push(loadavg()[0]);
  return runChild(SELF, [name, c, url]);
}

// ---------------------------------------------------------------- main
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => n.toFixed(2);
const rate = (runs) => median(runs.map((r) => r.rate));
const withSpread = (runs) =>
  `${fmt(rate(runs))} ±${(spread(runs.map((r) => r.rate)) * 100).toFixed(0)}%`;
const verdict = (isMet) => (isMet ? 'met' : '**MISSED**');

const redis = await startRedis();
admin = new Redis(redis.url);
try {
  if (OURS_ONLY) {
    for (const c of CONCURRENCIES) {
      const ours = child('ours', c, redis.url);
      log(`c=${c}: ${fmt(ours.rate)}/s, ${ours.perEvent.toFixed(2)} commands/event`);
    }
    const l = child('ours-latency', 10, redis.url);
    log(`latency p50 ${ms(l.p50)} p99 ${ms(l.p99)} max ${ms(l.max)}`);
    process.exit(0);
  }
  const KINDS = ['ours', 'off', 'prom', 'traced', 'bull', 'bull-traced'];
  const raw = [];
  const rows = CONCURRENCIES.map((c) => ({ c, ...Object.fromEntries(KINDS.map((k) => [k, []])) }));
  for (let round = 1; round <= RUNS; round++) {
    log(`round ${round}/${RUNS}`);
    raw.push(child('raw', 0, redis.url));
    for (const row of rows) {
      // The cases take turns, in a rotated order each round.
      for (const kind of rotated(KINDS, round)) row[kind].push(child(kind, row.c, redis.url));
    }
  }
  const oursLatency = child('ours-latency', 10, redis.url);
  const bullLatency = child('bull-latency', 10, redis.url);
  const rawRate = rate(raw);

  const out = [];
  const checks = [];
  out.push('## Queue: nestjs-events on Redis vs BullMQ vs raw ioredis');
  out.push('');
  out.push(
    `End to end (emit to handler completion), ${fmt(N)} events, no-op handler, producer and worker in one process, one private redis-server (persistence off). Each case in a fresh process of its own, ${RUNS} round(s), the cases taking turns: events/s are medians ± spread (half the range over the median), ratios are of the medians. Commands per event from INFO commandstats (commands inside Lua scripts included). ${cpus().length} cores, Node ${process.version}; load average (1 min) during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
  );
  out.push('');
  out.push(
    '| concurrency | nestjs-events (events/s) | BullMQ (jobs/s) | ratio vs BullMQ | % of raw ioredis | commands/event (ours) | commands/job (BullMQ) |',
  );
  out.push('|---:|---:|---:|---:|---:|---:|---:|');
  for (const { c, ours, bull } of rows) {
    const vsBull = rate(ours) / rate(bull);
    const ofRaw = rate(ours) / rawRate;
    out.push(
      `| ${c} | ${withSpread(ours)} | ${withSpread(bull)} | ${vsBull.toFixed(2)}× | ${(ofRaw * 100).toFixed(0)}% | ${ours[0].perEvent.toFixed(1)} | ${bull[0].perEvent.toFixed(1)} |`,
    );
    checks.push(
      `- c=${c}: ${vsBull.toFixed(2)}× BullMQ (target ≥ 3×: ${verdict(vsBull >= 3)}); ${(ofRaw * 100).toFixed(0)}% of the raw loop (target ≥ 50%: ${verdict(ofRaw >= 0.5)})`,
    );
  }
  out.push('');
  out.push(
    'The cost of observability (same run, same Redis): everything off; the default above (metrics on, `@opentelemetry/api` installed without an SDK); metrics with Prometheus (`prom-client` registry, scraped every second); and metrics, Prometheus and tracing on through an SDK whose exporter drops every span (`BatchSpanProcessor`). Each cost is the row against the one before it. Last, BullMQ traced by its own integration (`bullmq-otel`) on the same SDK.',
  );
  out.push('');
  out.push(
    '| concurrency | off (events/s) | metrics (default) | + Prometheus | + tracing (SDK) | metrics cost | Prometheus cost | tracing cost | BullMQ + `bullmq-otel` (jobs/s) | BullMQ tracing cost |',
  );
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const cost = (on, off) => `${((rate(off) / rate(on) - 1) * 100).toFixed(0)}%`;
  for (const row of rows) {
    const { c, ours, off, prom, traced, bull } = row;
    const bullTraced = row['bull-traced'];
    out.push(
      `| ${c} | ${withSpread(off)} | ${withSpread(ours)} | ${withSpread(prom)} | ${withSpread(traced)} | ${cost(ours, off)} | ${cost(prom, ours)} | ${cost(traced, prom)} | ${withSpread(bullTraced)} | ${cost(bullTraced, bull)} |`,
    );
  }
  out.push('');
  out.push(
    "Costs are time per event added (a rate halved is +100%). Traced against both BullMQ rows (the issue's target is against BullMQ untraced):",
  );
  out.push('');
  out.push(
    '| concurrency | traced (events/s) | vs BullMQ untraced | vs BullMQ + `bullmq-otel` | traced vs off |',
  );
  out.push('|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const { c, off, traced, bull } = row;
    const tracedVsBull = rate(traced) / rate(bull);
    const tracedVsTracedBull = rate(traced) / rate(row['bull-traced']);
    out.push(
      `| ${c} | ${withSpread(traced)} | ${tracedVsBull.toFixed(2)}× | ${tracedVsTracedBull.toFixed(2)}× | ${(rate(traced) / rate(off)).toFixed(2)}× |`,
    );
    checks.push(
      `- c=${c}, metrics, Prometheus and tracing on: ${tracedVsBull.toFixed(2)}× BullMQ (target ≥ 3×: ${verdict(tracedVsBull >= 3)}); ${tracedVsTracedBull.toFixed(2)}× BullMQ traced by \`bullmq-otel\` (same SDK; ≥ 3×: ${verdict(tracedVsTracedBull >= 3)})`,
    );
  }
  out.push('');
  out.push(
    `Raw ioredis stream loop (pipelined XADD ×100, XREADGROUP COUNT 100, XACK): ${withSpread(raw)} messages/s, ${raw[0].perEvent.toFixed(2)} commands/message.`,
  );
  out.push('');
  out.push(
    `Latency, emit to handler start, steady ${fmt(RATE)} events/s for ${LATENCY_SECONDS} s (concurrency 10), one run each:`,
  );
  out.push('');
  out.push('| | p50 (ms) | p99 (ms) | max (ms) |');
  out.push('|---|---:|---:|---:|');
  for (const [name, l] of [
    ['nestjs-events', oursLatency],
    ['BullMQ', bullLatency],
  ]) {
    out.push(`| ${name} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} |`);
  }
  out.push('');
  out.push(...checks);
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  admin.disconnect();
  redis.stop();
}
process.exit(0);
