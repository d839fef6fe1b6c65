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
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { Failing, fillBullFailed, pump } from './dead-fill.js';
import { startRedis } from './redis-server.js';
import { EventBus, EventQueues, EventsModule } from '../dist/index.js';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const N = Number(env.BENCH_DEAD_JOBS ?? 10_000);
const RUNS = Number(env.BENCH_DEAD_RETRY_RUNS ?? (QUICK ? 3 : 7));
const CONCURRENCY = 200;
const SELF = fileURLToPath(import.meta.url);
const log = (message) => process.stderr.write(`[dead-retry.bench] ${message}\n`);

// ---------------------------------------------------------------- both sides
/**
 * Runs `fn` and measures it twice: wall time in this process, and the time Redis spent executing
 * commands meanwhile (the usec of EVAL/EVALSHA in INFO commandstats after CONFIG RESETSTAT;
 * nothing else uses this redis-server while a child runs), which a loaded machine's scheduling disturbs less.
 */
async function timed(fn) {
  const admin = new Redis(env.REDIS_URL);
  await admin.config('RESETSTAT');
  const start = performance.now();
  const result = await fn();
  const wall = performance.now() - start;
  const info = await admin.info('commandstats');
  admin.disconnect();
  let usec = 0;
  // Scripts only: both sides do all the work in scripts, and the commands a script calls are
  // counted again under their own names.
  for (const match of info.matchAll(/^cmdstat_(evalsha|eval):calls=\d+,usec=(\d+)/gm)) {
    usec += Number(match[2]);
  }
  measured.redisMs = usec / 1000;
  measured.ms = wall;
  return { ms: wall, result };
}
const measured = { ms: 0, redisMs: 0 };

// ---------------------------------------------------------------- ROLE=ours
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
  const { ms, result: moved } = await timed(() => queues.retryDead('dead', 'all'));
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
  const queue = await fillBullFailed(connection, env.NAME, N, CONCURRENCY);
  const { ms } = await timed(() => queue.retryJobs({ state: 'failed', count: 1000 }));
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
        else resolve(JSON.parse(stdout.trim().split('\n').pop()));
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
  const redisMs = { ours: [], bull: [] };
  const loads = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const role of i % 2 ? ['bull', 'ours'] : ['ours', 'bull']) {
        loads.push(loadavg()[0]);
        const { ms: took, redisMs: busy } = await child(role, redis.url, `retry-${role}-${i}`);
        redisMs[role].push(busy);
        log(
          `run ${i + 1}/${RUNS} ${role}: ${took.toFixed(0)} ms, Redis ${busy.toFixed(0)} ms (load ${loadavg()[0].toFixed(2)})`,
        );
        ms[role].push(took);
      }
    }
  } finally {
    redis.stop();
  }
  const ratios = ms.ours.map((mine, i) => ms.bull[i] / mine);
  const ratio = median(ms.bull) / median(ms.ours);
  const redisRatio = median(redisMs.bull) / median(redisMs.ours);
  const list = (values) => values.map((v) => v.toFixed(0)).join(', ');
  const out = [
    '## Retry all dead jobs',
    '',
    `${N.toLocaleString('en-US')} dead jobs (filled by a handler that throws, one attempt), no worker running: nestjs-events \`retryDead(queue, 'all')\` (the CLI's \`dead:retry --all\`, the dashboard's Retry all) vs BullMQ \`retryJobs({ state: 'failed' })\`. One private redis-server; each side in a fresh process per repetition, order alternating, ${RUNS} repetitions. ${cpus().length} cores, Node ${process.version}; load average (1 min) during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
    '',
    '| | wall, median (ms) | wall, runs (ms) | Redis busy, median (ms) | Redis busy, runs (ms) |',
    '|---|---:|---|---:|---|',
    `| nestjs-events | ${median(ms.ours).toFixed(0)} | ${list(ms.ours)} | ${median(redisMs.ours).toFixed(0)} | ${list(redisMs.ours)} |`,
    `| BullMQ | ${median(ms.bull).toFixed(0)} | ${list(ms.bull)} | ${median(redisMs.bull).toFixed(0)} | ${list(redisMs.bull)} |`,
    '',
    `BullMQ time / ours, of the medians: ${ratio.toFixed(2)}x (per repetition: ${ratios.map((r) => r.toFixed(2)).join(', ')}; target ≥ 1x: ${ratio >= 1 ? 'met' : '**MISSED**'}). Redis busy time, BullMQ / ours: ${redisRatio.toFixed(2)}x ("Redis busy": the time Redis spent executing the scripts, from INFO commandstats).`,
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

if (env.ROLE === 'ours' || env.ROLE === 'bull') {
  await (env.ROLE === 'ours' ? ours() : bull());
  process.stdout.write(`${JSON.stringify(measured)}\n`);
} else await parent();
process.exit(0);
