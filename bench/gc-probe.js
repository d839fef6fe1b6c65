// Profiling aid for the queue worker's GC (issue 15), not part of `npm run bench`: how much the
// worker promotes per scavenge under a steady load, the way bench/README.md describes by hand. One
// private redis-server; per run, a worker process (`queue-child.js MODE=worker`, `--trace-gc-nvp`
// and a small young generation so that scavenges are many) and a producer process (`NO_WORKER=1`)
// on the same prefix, both at a real-time priority when run as root (`chrt -f 10`: close to a quiet
// machine's figures on a loaded one), and the redis-server too. Counts only the scavenges after the producer started.
//
//   npm run build && node bench/gc-probe.js
//   LIB=bullmq RATE=1000 CONCURRENCY=10 RUNS=3 node bench/gc-probe.js
//   WORKER_FLAGS='--no-allocation-site-pretenuring' TRACING=0 ALS=0 node bench/gc-probe.js
//
// TRACING=0 and ALS=0 pass through to queue-child.js (`tracing: false`, `asyncContext: false`).
// Prints one JSON line per run, then the medians: promoted KB per scavenge, allocated KB per
// scavenge, scavenges, median pause (ms).
import { spawn } from 'node:child_process';
import { clearTimeout, setTimeout } from 'node:timers';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from './redis-server.js';

const env = process.env;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(env.RUNS ?? 3);
const SEMI_SPACE_MB = env.SEMI_SPACE_MB ?? '2';
const workerFlags = (env.WORKER_FLAGS ?? '').split(' ').filter(Boolean);
const isRoot = process.getuid?.() === 0;

function node(args, extraEnv) {
  const command = isRoot ? 'chrt' : process.execPath;
  const argv = isRoot ? ['-f', '10', process.execPath, ...args] : args;
  return spawn(command, argv, { cwd: root, env: { ...env, ...extraEnv } });
}

const exited = (child) => new Promise((resolve) => child.on('exit', resolve));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const field = (line, name) => Number(new RegExp(`\\b${name}=([\\d.]+)`).exec(line)?.[1] ?? NaN);

async function run(redisUrl, index) {
  const shared = {
    LIB: env.LIB ?? 'ours',
    REDIS_URL: redisUrl,
    PREFIX: `gcprobe${index}`,
    RATE: env.RATE ?? '1000',
    CONCURRENCY: env.CONCURRENCY ?? '10',
    SECONDS: env.SECONDS ?? '5',
    WARMUP_SECONDS: env.WARMUP_SECONDS ?? '1',
  };
  const worker = node(
    [
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      '--trace-gc-nvp',
      ...workerFlags,
      'bench/queue-child.js',
    ],
    { ...shared, MODE: 'worker' },
  );
  const workerExit = exited(worker);
  let out = '';
  worker.stdout.on('data', (chunk) => (out += chunk));
  worker.stderr.pipe(process.stderr);
  // The worker's boot (Nest app, connections) is over before the producer starts.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const from = out.length;
  const producer = node(['bench/queue-child.js'], { ...shared, MODE: 'latency', NO_WORKER: '1' });
  producer.stderr.pipe(process.stderr);
  producer.stdout.resume();
  await exited(producer);
  // The worker ends once it handled every job; a stuck one is stopped (its figures still count).
  const stop = setTimeout(() => worker.kill('SIGTERM'), 10_000);
  await workerExit;
  clearTimeout(stop);
  const scavenges = out
    .slice(from)
    .split('\n')
    .filter((line) => / gc=s /.test(line));
  return {
    scavenges: scavenges.length,
    promotedKB: median(scavenges.map((l) => field(l, 'promoted'))) / 1024,
    // The mean as well: promotion comes in phases, which a median can hide.
    meanPromotedKB:
      scavenges.reduce((sum, l) => sum + field(l, 'promoted'), 0) / 1024 / (scavenges.length || 1),
    allocatedKB: median(scavenges.map((l) => field(l, 'allocated'))) / 1024,
    pauseMs: median(scavenges.map((l) => field(l, 'pause'))),
  };
}

const redis = await startRedis();
// The server at the same real-time priority: under load, a descheduled Redis stretches every
// round trip, and whatever waits for a reply lives across scavenges (REDIS_RT=0: leave it).
if (isRoot && env.REDIS_RT !== '0') {
  await exited(spawn('chrt', ['-f', '-p', '10', String(redis.pid)], { stdio: 'ignore' }));
}
const runs = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const result = await run(redis.url, i);
    runs.push(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
} finally {
  await redis.stop();
}
const summary = Object.fromEntries(
  ['promotedKB', 'meanPromotedKB', 'allocatedKB', 'scavenges', 'pauseMs'].map((k) => [
    k,
    median(runs.map((r) => r[k])),
  ]),
);
process.stdout.write(
  `${JSON.stringify({ lib: env.LIB ?? 'ours', node: process.version, runs: RUNS, median: summary })}\n`,
);
