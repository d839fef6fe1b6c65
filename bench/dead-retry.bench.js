// Retry every dead job: nestjs-events `retryDead(queue, 'all')` (what `dead:retry --all` and the
// dashboard's Retry all call) vs BullMQ `retryJobs({ state: 'failed' })`, on N dead (failed) jobs
// each. Prints a markdown section on stdout, progress on stderr.
//
//   npm run build && node bench/dead-retry.bench.js      (BENCH_QUICK=1 for a short smoke run)
//
// One private redis-server for the whole run. Each repetition runs each side in a fresh process
// of its own (ROLE=ours / ROLE=bull, order alternating), on a queue of its own: it fills the dead
// letters the real way (N jobs whose handler throws, one attempt each), stops its worker, times
// the retry of all of them, checks that they all wait again and none is dead, then removes the
// queue. The medians of the repetitions are compared: single runs on a loaded machine swing.
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, URL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { startRedis } from './redis-server.js';
import { EventBus, EventQueues, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const N = Number(env.BENCH_DEAD_JOBS ?? 10_000);
const RUNS = Number(env.BENCH_DEAD_RETRY_RUNS ?? (QUICK ? 3 : 7));
const CONCURRENCY = 200;
const WINDOW = 1000;
const SELF = fileURLToPath(import.meta.url);
const log = (message) => process.stderr.write(`[dead-retry.bench] ${message}\n`);

/** Runs `n` calls of `fn(i)` with at most WINDOW in flight. */
async function pump(n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(WINDOW, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

// ---------------------------------------------------------------- ROLE=ours
class Failing {
  handle() {
    throw new Error('bench failure');
  }
}
{
  const method = Object.getOwnPropertyDescriptor(Failing.prototype, 'handle');
  ShouldQueue({ queue: 'dead', tries: 1 })(Failing.prototype, 'handle', method);
  OnEvent('bench.dead')(Failing.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Failing);
  Injectable()(Failing);
}

async function eventsApp(worker) {
  class BenchModule {}
  Module({
    imports: [EventsModule.forRoot({ redis: env.REDIS_URL, prefix: env.NAME, worker })],
    providers: [Failing],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  return { app, bus: app.get(EventBus), queues: app.get(EventQueues) };
}

async function ours() {
  const filling = await eventsApp({ concurrency: CONCURRENCY });
  await pump(N, (i) => filling.bus.emit('bench.dead', { i }));
  await filling.queues.drain({ timeoutMs: 30 * 60_000 });
  await filling.app.close();
  const { app, queues } = await eventsApp(false);
  const before = await queues.counts('dead');
  if (before.dead !== N) throw new Error(`nestjs-events: ${before.dead} dead jobs, expected ${N}`);
  const start = performance.now();
  const moved = await queues.retryDead('dead', 'all');
  const ms = performance.now() - start;
  const after = await queues.counts('dead');
  if (moved !== N || after.dead !== 0 || after.waiting !== N) {
    throw new Error(`nestjs-events: moved ${moved}, then ${JSON.stringify(after)}`);
  }
  await queues.obliterate('dead', { force: true });
  await app.close();
  return ms;
}

// ---------------------------------------------------------------- ROLE=bull
async function bull() {
  const url = new URL(env.REDIS_URL);
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  const queue = new Queue(env.NAME, { connection });
  let failed = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const worker = new Worker(
    env.NAME,
    async () => {
      throw new Error('bench failure');
    },
    { connection, concurrency: CONCURRENCY },
  );
  worker.on('failed', () => {
    if (++failed === N) resolve();
  });
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
  for (let i = 0; i < N; i += 1000) {
    const size = Math.min(1000, N - i);
    await queue.addBulk(
      Array.from({ length: size }, (_, j) => ({
        name: 'job',
        data: { i: i + j },
        opts: { attempts: 1 },
      })),
    );
  }
  await done;
  await worker.close();
  const start = performance.now();
  await queue.retryJobs({ state: 'failed', count: 1000 });
  const ms = performance.now() - start;
  const [left, waiting] = await Promise.all([queue.getFailedCount(), queue.getWaitingCount()]);
  if (left !== 0 || waiting !== N) throw new Error(`BullMQ: ${left} failed, ${waiting} waiting`);
  await queue.obliterate({ force: true });
  await queue.close();
  return ms;
}

// ---------------------------------------------------------------- parent
function child(role, redisUrl, name) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SELF],
      { env: { ...env, ROLE: role, REDIS_URL: redisUrl, NAME: name }, timeout: 15 * 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${role}: ${error.message}\n${stderr.slice(-2000)}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()).ms);
      },
    );
  });
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function parent() {
  const redis = await startRedis();
  const ms = { ours: [], bull: [] };
  const loads = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const role of i % 2 ? ['bull', 'ours'] : ['ours', 'bull']) {
        loads.push(loadavg()[0]);
        const took = await child(role, redis.url, `retry-${role}-${i}`);
        log(
          `run ${i + 1}/${RUNS} ${role}: ${took.toFixed(0)} ms (load ${loadavg()[0].toFixed(2)})`,
        );
        ms[role].push(took);
      }
    }
  } finally {
    redis.stop();
  }
  const ratios = ms.ours.map((mine, i) => ms.bull[i] / mine);
  const ratio = median(ms.bull) / median(ms.ours);
  const list = (values) => values.map((v) => v.toFixed(0)).join(', ');
  const out = [
    '## Retry all dead jobs',
    '',
    `${N.toLocaleString('en-US')} dead jobs (filled by a handler that throws, one attempt), no worker running: nestjs-events \`retryDead(queue, 'all')\` (the CLI's \`dead:retry --all\`, the dashboard's Retry all) vs BullMQ \`retryJobs({ state: 'failed' })\`. One private redis-server; each side in a fresh process per repetition, order alternating, ${RUNS} repetitions. ${cpus().length} cores, Node ${process.version}; load average (1 min) during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
    '',
    '| | median (ms) | runs (ms) |',
    '|---|---:|---|',
    `| nestjs-events | ${median(ms.ours).toFixed(0)} | ${list(ms.ours)} |`,
    `| BullMQ | ${median(ms.bull).toFixed(0)} | ${list(ms.bull)} |`,
    '',
    `BullMQ time / ours, of the medians: ${ratio.toFixed(2)}x (per repetition: ${ratios.map((r) => r.toFixed(2)).join(', ')}; target ≥ 1x: ${ratio >= 1 ? 'met' : '**MISSED**'}).`,
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

if (env.ROLE === 'ours') process.stdout.write(`${JSON.stringify({ ms: await ours() })}\n`);
else if (env.ROLE === 'bull') process.stdout.write(`${JSON.stringify({ ms: await bull() })}\n`);
else await parent();
process.exit(0);
