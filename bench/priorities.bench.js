// Priorities: queue throughput of nestjs-events on Redis with job priorities, against the same
// queue without priorities and against BullMQ with job priorities, in one run on one private
// redis-server. Prints a markdown section on stdout, progress on stderr.
//
//   npm run build && node bench/priorities.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// End to end: N jobs emitted (up to 1,000 in flight) and handled by a no-op handler, producer
// and worker in one process; the clock runs from the first emit to the last handler completion.
// Prioritized cases spread the jobs over five levels (ours -2..2, BullMQ 1..5). Commands per job
// from INFO commandstats (commands inside Lua scripts included).
//
// Each case runs in a fresh process of its own (`--child <case> <concurrency> <url>`): our
// library keeps an AsyncLocalStorage, whose promise hooks (Node 20) would tax BullMQ's promises in
// a shared process. BENCH_PRIORITY_RUNS rounds (default 3), the cases taking turns; medians and
// spreads (half the range over the median) are reported, and whether each target is met.
import 'reflect-metadata';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { URL, fileURLToPath } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.js';
import { median, rotated, runChild, spread } from './rounds.js';
import { EventBus, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_PRIORITY_JOBS ?? (QUICK ? 10_000 : 50_000));
const CONCURRENCIES = (process.env.BENCH_PRIORITY_CONCURRENCY ?? '1,10').split(',').map(Number);
const RUNS = Number(process.env.BENCH_PRIORITY_RUNS ?? (QUICK ? 1 : 3));
const WINDOW = 1000;
const LEVELS = 5;
const log = (message) => process.stderr.write(`[priorities.bench] ${message}\n`);

let admin;
async function commands() {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info' && match[1] !== 'config|resetstat') total += Number(match[2]);
  }
  return total;
}

/** Redis's CPU time so far (µs, INFO cpu: main thread and others, user and system). */
async function redisCpuUs() {
  const info = await admin.info('cpu');
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/**
 * Starts counting CPU time; the function it returns gives the CPU µs per job since then, of this
 * process (producer and worker) and of the redis-server. On a loaded machine these move less than
 * jobs/s: they count work done, not time waited for a core.
 */
async function cpuMark() {
  const [node, redis] = [process.cpuUsage(), await redisCpuUs()];
  return async () => {
    const used = process.cpuUsage(node);
    return { nodeUs: (used.user + used.system) / N, redisUs: ((await redisCpuUs()) - redis) / N };
  };
}

/**
 * With BENCH_PROFILE=1: the commands of the run by name (per job) and the time Redis spent in
 * them (µs per job, from INFO commandstats), on stderr, to see where a case's cost goes.
 */
async function profile(label) {
  if (process.env.BENCH_PROFILE !== '1') return;
  const info = await admin.info('commandstats');
  const rows = [];
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info' || m[1] === 'config|resetstat') continue;
    rows.push([m[1], Number(m[2]) / N, Number(m[3]) / N]);
  }
  rows.sort((a, b) => b[2] - a[2]);
  const text = rows.map(
    ([name, calls, usec]) => `${name} ${calls.toFixed(2)}/job ${usec.toFixed(1)}µs/job`,
  );
  log(`${label}: ${text.join(', ')}`);
}

/** Emits `n` times with at most WINDOW in flight. */
async function pump(n, emitOne) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(WINDOW, n) }, async () => {
      while (next < n) await emitOne(next++);
    }),
  );
}

class Sink {
  constructor() {
    this.reset(0);
  }
  reset(target) {
    this.count = 0;
    this.target = target;
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }
  handle() {
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

/** Jobs per second and commands per job of nestjs-events, with or without priorities. */
async function ours(url, concurrency, isPrioritized) {
  class BenchModule {}
  Module({
    imports: [
      EventsModule.forRoot({
        redis: url,
        prefix: `bench-${isPrioritized ? 'p' : 'u'}${concurrency}-${process.pid}`,
        worker: { concurrency },
      }),
    ],
    providers: [Sink],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  const bus = app.get(EventBus);
  const sink = app.get(Sink);
  sink.reset(N);
  await admin.config('RESETSTAT');
  const cpu = await cpuMark();
  const start = performance.now();
  await pump(N, (i) =>
    isPrioritized
      ? bus.emit('bench.event', { i }, { priority: (i % LEVELS) - 2 })
      : bus.emit('bench.event', { i }),
  );
  await sink.done;
  const seconds = (performance.now() - start) / 1000;
  const perJob = (await commands()) / N;
  const cpuPerJob = await cpu();
  await profile(`ours c=${concurrency} ${isPrioritized ? 'prioritized' : 'unprioritized'}`);
  await app.close();
  return { rate: N / seconds, perJob, ...cpuPerJob };
}

/** The same with BullMQ, every job with a priority. */
async function bullmq(url, concurrency) {
  const port = Number(new URL(url).port);
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const name = `bull-p${concurrency}-${process.pid}`;
  const queue = new Queue(name, { connection });
  let count = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const worker = new Worker(
    name,
    async () => {
      if (++count === N) resolve();
    },
    { connection, concurrency },
  );
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  await admin.config('RESETSTAT');
  const cpu = await cpuMark();
  const start = performance.now();
  await pump(N, (i) =>
    queue.add(
      'job',
      { i },
      { priority: (i % LEVELS) + 1, removeOnComplete: true, removeOnFail: true },
    ),
  );
  await done;
  const seconds = (performance.now() - start) / 1000;
  const perJob = (await commands()) / N;
  const cpuPerJob = await cpu();
  await profile(`BullMQ c=${concurrency} prioritized`);
  await worker.close();
  await queue.close();
  return { rate: N / seconds, perJob, ...cpuPerJob };
}

const CASES = {
  plain: (url, c) => ours(url, c, false),
  prioritized: (url, c) => ours(url, c, true),
  bull: (url, c) => bullmq(url, c),
};

if (process.argv[2] === '--child') {
  // One case in this process; its result as JSON on stdout.
  const [, , , name, c, url] = process.argv;
  admin = new Redis(url);
  const result = await CASES[name](url, Number(c));
  admin.disconnect();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

const SELF = fileURLToPath(import.meta.url);

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const withSpread = (values) => `${fmt(median(values))} ±${(spread(values) * 100).toFixed(0)}%`;
const redis = await startRedis();
admin = new Redis(redis.url);
const loads = [];
try {
  const rows = [];
  for (const c of CONCURRENCIES) {
    const runs = { plain: [], prioritized: [], bull: [], perJob: {}, nodeUs: {}, redisUs: {} };
    for (let round = 1; round <= RUNS; round++) {
      // The cases take turns, in a rotated order each round.
      for (const name of rotated(['plain', 'prioritized', 'bull'], round)) {
        log(`concurrency ${c}, round ${round}/${RUNS}: ${name} (load ${loadavg()[0].toFixed(2)})`);
        loads.push(loadavg()[0]);
        const result = runChild(SELF, [name, c, redis.url]);
        runs[name].push(result.rate);
        runs.perJob[name] = result.perJob;
        (runs.nodeUs[name] ??= []).push(result.nodeUs);
        (runs.redisUs[name] ??= []).push(result.redisUs);
      }
    }
    rows.push({ c, ...runs });
  }
  const out = [];
  const checks = [];
  out.push('## Priorities: nestjs-events on Redis vs BullMQ with job priorities');
  out.push('');
  out.push(
    `End to end (emit to handler completion), ${fmt(N)} jobs over ${LEVELS} priority levels, no-op handler, producer and worker in one process, one private redis-server (persistence off). Each case in a fresh process of its own, ${RUNS} round(s), the cases taking turns; jobs/s are medians ± spread (half the range over the median), ratios are of the medians. Commands per job from INFO commandstats (inside Lua scripts included); CPU per job (medians) of the case's process (producer and worker, \`process.cpuUsage()\`) and of the redis-server (INFO cpu), from the first emit to the last handler: work done, which the load moves less than jobs/s. ${cpus().length} cores, Node ${process.version}; load average (1 min) during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
  );
  out.push('');
  out.push(
    '| concurrency | ours, no priorities (jobs/s) | ours, prioritized (jobs/s) | BullMQ, prioritized (jobs/s) | prioritized vs BullMQ | prioritized vs ours unprioritized | commands/job (ours, none / prioritized) | commands/job (BullMQ) | CPU µs/job, process + Redis (ours, none / prioritized) | CPU µs/job, process + Redis (BullMQ) |',
  );
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { c, plain, prioritized, bull, perJob, nodeUs, redisUs } of rows) {
    const cpu = (name) => `${fmt(median(nodeUs[name]))} + ${fmt(median(redisUs[name]))}`;
    const vsBull = median(prioritized) / median(bull);
    const vsPlain = median(prioritized) / median(plain);
    out.push(
      `| ${c} | ${withSpread(plain)} | ${withSpread(prioritized)} | ${withSpread(bull)} | ${vsBull.toFixed(2)}× | ${(vsPlain * 100).toFixed(0)}% | ${perJob.plain.toFixed(1)} / ${perJob.prioritized.toFixed(1)} | ${perJob.bull.toFixed(1)} | ${cpu('plain')} / ${cpu('prioritized')} | ${cpu('bull')} |`,
    );
    checks.push(
      `- c=${c}: prioritized vs BullMQ ${vsBull.toFixed(2)}× (target ≥ 3×: ${vsBull >= 3 ? 'met' : '**MISSED**'}); vs our unprioritized queue ${(vsPlain * 100).toFixed(0)}% (target ≥ 80%: ${vsPlain >= 0.8 ? 'met' : '**MISSED**'})`,
    );
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
