// Scale-out benchmark: one queue worked by 1, 2 and 4 EventsServer worker processes on one private
// redis-server. Prints a markdown section on stdout, progress on stderr.
//
//   npm run build && node bench/scale.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// Method: N jobs are stored first (no worker running). Then K worker processes boot (this file,
// run with `--worker`), each a Nest microservice with `new EventsServer({ queues, concurrency })`,
// and wait for "GO"; the clock runs from GO to the moment the queue's completed count reaches N
// (polled every 20 ms). Two handlers: a no-op (the cost of the queue itself) and one that awaits
// 5 ms (a handler that waits on I/O, as most real ones do).
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  EventBus,
  EventQueues,
  EventsModule,
  EventsServer,
  OnEvent,
  ShouldQueue,
} from '../dist/index.js';
import { startRedis } from './redis-server.js';

const QUICK = process.env.BENCH_QUICK === '1';
const PROCESSES = [1, 2, 4];
const CASES = [
  { name: 'no-op', handlerMs: 0, events: QUICK ? 2_000 : 20_000, concurrency: 20 },
  { name: 'awaits 5 ms', handlerMs: 5, events: QUICK ? 1_000 : 10_000, concurrency: 10 },
];
const QUEUE = 'scale';
const log = (message) => process.stderr.write(`[scale.bench] ${message}\n`);

/** The listener both sides register (the producer only to enqueue its jobs). */
function listenerModule(redis, prefix, handlerMs, worker) {
  class ScaleListener {
    async handle() {
      if (handlerMs > 0) await sleep(handlerMs);
    }
  }
  const method = Object.getOwnPropertyDescriptor(ScaleListener.prototype, 'handle');
  ShouldQueue({ queue: QUEUE })(ScaleListener.prototype, 'handle', method);
  OnEvent('scale.job')(ScaleListener.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], ScaleListener);
  Injectable()(ScaleListener);
  class ScaleModule {}
  Module({
    imports: [EventsModule.forRoot({ redis, prefix, worker })],
    providers: [ScaleListener],
  })(ScaleModule);
  return ScaleModule;
}

// ---------------------------------------------------------------- worker process mode
if (process.argv[2] === '--worker') {
  const { REDIS_URL, PREFIX, HANDLER_MS, CONCURRENCY } = process.env;
  const app = await NestFactory.createMicroservice(
    listenerModule(REDIS_URL, PREFIX, Number(HANDLER_MS), false),
    {
      strategy: new EventsServer({ queues: [QUEUE], concurrency: Number(CONCURRENCY) }),
      logger: ['error'],
    },
  );
  // Booted and connected; `listen()` runs the init hooks and starts the worker. (Not `init()`
  // first: NestMicroservice would then run the init hooks a second time in `listen()`.)
  process.stdout.write('READY\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'GO') await app.listen();
    if (line === 'STOP') break;
  }
  await app.close();
  process.exit(0);
}

function startWorker(env) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--worker'], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ready = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk) => chunk.includes('READY') && resolve());
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before READY`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, ready, exited };
}

// ---------------------------------------------------------------- one measurement
async function measure(redis, c, processes, round) {
  const prefix = `scale-${c.handlerMs}-${processes}-${round}`;
  const producer = await NestFactory.createApplicationContext(
    listenerModule(redis.url, prefix, c.handlerMs, false),
    { logger: ['error'] },
  );
  await producer.init();
  const bus = producer.get(EventBus);
  const queues = producer.get(EventQueues);
  for (let i = 0; i < c.events; i += 1000) {
    const batch = Math.min(1000, c.events - i);
    await Promise.all(Array.from({ length: batch }, (_, j) => bus.emit('scale.job', { i: i + j })));
  }
  const env = {
    REDIS_URL: redis.url,
    PREFIX: prefix,
    HANDLER_MS: String(c.handlerMs),
    CONCURRENCY: String(c.concurrency),
  };
  const workers = Array.from({ length: processes }, () => startWorker(env));
  await Promise.all(workers.map((w) => w.ready));
  const started = performance.now();
  for (const w of workers) w.child.stdin.write('GO\n');
  while ((await queues.counts(QUEUE)).completed < c.events) await sleep(20);
  const seconds = (performance.now() - started) / 1000;
  for (const w of workers) w.child.stdin.write('STOP\n');
  await Promise.all(workers.map((w) => w.exited));
  await producer.close();
  return c.events / seconds;
}

const redis = await startRedis();
const rows = [];
try {
  for (const c of CASES) {
    for (const processes of PROCESSES) {
      // Best of two rounds: the machine is shared, and a round can lose the CPU to others.
      let best = 0;
      for (let round = 0; round < (QUICK ? 1 : 2); round++) {
        best = Math.max(best, await measure(redis, c, processes, round));
      }
      log(`${c.name}, ${processes} process(es): ${Math.round(best)} events/s`);
      rows.push({ c, processes, rate: best });
    }
  }
} finally {
  redis.stop();
}

// ---------------------------------------------------------------- the section
const cores = os.cpus().length;
const out = [];
out.push('## Scale-out: worker processes on one queue (`scale.bench.js`)', '');
out.push(
  `One queue, N jobs stored before any worker runs, then 1, 2 or 4 \`EventsServer\` worker processes ` +
    `(\`NestFactory.createMicroservice\`) started together; the clock runs until the queue's completed ` +
    `count reaches N. One private redis-server (persistence off) on the same ${cores}-core machine. ` +
    `Best of ${QUICK ? 1 : 2} rounds.`,
  '',
);
out.push('| handler | concurrency per process | events | processes | events/s | vs 1 process |');
out.push('|---|---:|---:|---:|---:|---:|');
for (const { c, processes, rate } of rows) {
  const one = rows.find((r) => r.c === c && r.processes === 1).rate;
  out.push(
    `| ${c.name} | ${c.concurrency} | ${c.events.toLocaleString('en-US')} | ${processes} | ` +
      `${Math.round(rate).toLocaleString('en-US')} | ${(rate / one).toFixed(2)}× |`,
  );
}
const ratio = (name, n) => {
  const of = rows.filter((r) => r.c.name === name);
  return (of.find((r) => r.processes === n).rate / of.find((r) => r.processes === 1).rate).toFixed(
    2,
  );
};
out.push(
  '',
  `**How it scales here, and why.** With no-op handlers every job is pure queue work: a read, JSON ` +
    `parsing, the worker's bookkeeping and a Lua acknowledgement, split between the worker processes ` +
    `and one single-threaded redis-server. On ${cores} cores they all share the same CPU, so a second ` +
    `process gives ${ratio('no-op', 2)}× and a fourth ${ratio('no-op', 4)}×: once the worker processes ` +
    `and Redis fill the cores, more processes only add context switches and more consumers reading ` +
    `the same stream. With handlers that wait 5 ms (on I/O, as real handlers mostly do) a process ` +
    `is bound by its concurrency (${CASES[1].concurrency} jobs in flight, at most ~` +
    `${Math.round((1000 / CASES[1].handlerMs) * CASES[1].concurrency).toLocaleString('en-US')} ` +
    `jobs/s), not by the CPU, so more processes add throughput: ${ratio('awaits 5 ms', 2)}× with two ` +
    `and ${ratio('awaits 5 ms', 4)}× with four, until the CPU saturates. Raising \`concurrency\` in ` +
    `one process does the same for I/O-bound work more cheaply; extra processes pay off for ` +
    `CPU-bound handlers on machines with more cores than this one, and to survive a process's death.`,
);
process.stdout.write(`${out.join('\n')}\n`);
