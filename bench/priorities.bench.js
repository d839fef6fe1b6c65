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
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.js';
import { EventBus, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_PRIORITY_JOBS ?? (QUICK ? 10_000 : 50_000));
const CONCURRENCIES = (process.env.BENCH_PRIORITY_CONCURRENCY ?? '1,10').split(',').map(Number);
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
        prefix: `bench-${isPrioritized ? 'p' : 'u'}${concurrency}`,
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
  const start = performance.now();
  await pump(N, (i) =>
    isPrioritized
      ? bus.emit('bench.event', { i }, { priority: (i % LEVELS) - 2 })
      : bus.emit('bench.event', { i }),
  );
  await sink.done;
  const seconds = (performance.now() - start) / 1000;
  const perJob = (await commands()) / N;
  await profile(`ours c=${concurrency} ${isPrioritized ? 'prioritized' : 'unprioritized'}`);
  await app.close();
  return { rate: N / seconds, perJob };
}

/** The same with BullMQ, every job with a priority. */
async function bullmq(port, concurrency) {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const name = `bull-p${concurrency}`;
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
  await profile(`BullMQ c=${concurrency} prioritized`);
  await worker.close();
  await queue.close();
  return { rate: N / seconds, perJob };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const redis = await startRedis();
admin = new Redis(redis.url);
try {
  const rows = [];
  for (const c of CONCURRENCIES) {
    log(`concurrency ${c}: nestjs-events without priorities`);
    const plain = await ours(redis.url, c, false);
    log(`concurrency ${c}: nestjs-events with priorities`);
    const prioritized = await ours(redis.url, c, true);
    log(`concurrency ${c}: BullMQ with priorities`);
    const bull = await bullmq(redis.port, c);
    rows.push({ c, plain, prioritized, bull });
  }
  const out = [];
  out.push('## Priorities: nestjs-events on Redis vs BullMQ with job priorities');
  out.push('');
  out.push(
    `End to end (emit to handler completion), ${fmt(N)} jobs over ${LEVELS} priority levels, no-op handler, producer and worker in one process, one private redis-server (persistence off). Commands per job from INFO commandstats (inside Lua scripts included).`,
  );
  out.push('');
  out.push(
    '| concurrency | ours, no priorities (jobs/s) | ours, prioritized (jobs/s) | BullMQ, prioritized (jobs/s) | prioritized vs BullMQ | prioritized vs ours unprioritized | commands/job (ours, none / prioritized) | commands/job (BullMQ) |',
  );
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { c, plain, prioritized, bull } of rows) {
    out.push(
      `| ${c} | ${fmt(plain.rate)} | ${fmt(prioritized.rate)} | ${fmt(bull.rate)} | ${(prioritized.rate / bull.rate).toFixed(2)}× | ${((prioritized.rate / plain.rate) * 100).toFixed(0)}% | ${plain.perJob.toFixed(1)} / ${prioritized.perJob.toFixed(1)} | ${bull.perJob.toFixed(1)} |`,
    );
  }
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  admin.disconnect();
  redis.stop();
}
process.exit(0);
