// Tenant fairness latency: while tenant A floods FLOOD jobs, tenant B emits one job every
// EVERY_MS; B's wait (emit -> handler start) on nestjs-events with `group` (round-robin across
// tenants) against BullMQ (no groups: B waits behind A's backlog), same load, same private
// redis-server, each library in its own process (this file, run again with LIB=ours|bullmq).
// Each handler takes WORK_MS (a timer), so A's backlog lasts seconds. Prints a markdown section.
//
//   npm run build && node bench/fairness.bench.js
//     (FLOOD=50000 EVERY_MS=10 CONCURRENCY=10 WORK_MS=1 by default)
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, URL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const env = process.env;
const FLOOD = Number(env.FLOOD ?? 50_000);
const EVERY_MS = Number(env.EVERY_MS ?? 10);
const CONCURRENCY = Number(env.CONCURRENCY ?? 10);
const WORK_MS = Number(env.WORK_MS ?? 1);
const BATCH = 1000;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/**
 * The shared part of both sides: `flood(items)` stores A's
 * jobs (worker paused or not started), `go()` lets it run, `emitB(data)` stores one B job.
 */
async function measure({ flood, go, emitB, close }, waits, state) {
  for (let from = 0; from < FLOOD; from += BATCH) {
    await flood(Array.from({ length: Math.min(BATCH, FLOOD - from) }, () => ({ tenant: 'A' })));
  }
  const startedAt = performance.now();
  await go();
  let sent = 0;
  // B emits on its own beat while A's backlog drains.
  while (state.a < FLOOD) {
    const tick = performance.now();
    await emitB({ tenant: 'B', sentAt: performance.now() });
    sent++;
    await sleep(Math.max(0, EVERY_MS - (performance.now() - tick)));
  }
  const drainedAt = performance.now();
  while (waits.length < sent) await sleep(5);
  await close();
  const sorted = Float64Array.from(waits).sort();
  return {
    b: sent,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    aDrainSeconds: (drainedAt - startedAt) / 1000,
  };
}

/** nestjs-events: one queue, `group` from the event's tenant. */
async function ours(url, prefix) {
  const [{ Injectable, Module }, { NestFactory }, lib] = await Promise.all([
    import('@nestjs/common'),
    import('@nestjs/core'),
    import('../dist/index.js'),
  ]);
  const waits = [];
  const state = { a: 0 };
  class Tenants {
    async handle(event) {
      if (event.data.tenant === 'B') waits.push(performance.now() - event.data.sentAt);
      else state.a++;
      await sleep(WORK_MS);
    }
  }
  const method = Object.getOwnPropertyDescriptor(Tenants.prototype, 'handle');
  lib.ShouldQueue({ queue: 'fair', group: (e) => e.data.tenant })(
    Tenants.prototype,
    'handle',
    method,
  );
  lib.OnEvent('tenant.job')(Tenants.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Tenants);
  Injectable()(Tenants);
  class BenchModule {}
  Module({
    imports: [
      lib.EventsModule.forRoot({ redis: url, prefix, worker: { concurrency: CONCURRENCY } }),
    ],
    providers: [Tenants],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  const bus = app.get(lib.EventBus);
  const queues = app.get(lib.EventQueues);
  await queues.pause('fair');
  return measure(
    {
      flood: (items) => bus.emitMany(items.map((data) => ({ name: 'tenant.job', data }))),
      go: () => queues.resume('fair'),
      emitB: (data) => bus.emit('tenant.job', data),
      close: () => app.close(),
    },
    waits,
    state,
  );
}

/** BullMQ: one queue (groups are BullMQ Pro), A's jobs stored before the worker starts. */
async function bullmq(url, prefix) {
  const { Queue, Worker } = await import('bullmq');
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const queue = new Queue(prefix, { connection });
  const opts = { removeOnComplete: true, removeOnFail: true };
  const waits = [];
  const state = { a: 0 };
  let worker;
  return measure(
    {
      flood: (items) => queue.addBulk(items.map((data) => ({ name: 'job', data, opts }))),
      go: async () => {
        worker = new Worker(
          prefix,
          async (job) => {
            if (job.data.tenant === 'B') waits.push(performance.now() - job.data.sentAt);
            else state.a++;
            await sleep(WORK_MS);
          },
          { connection, concurrency: CONCURRENCY },
        );
      },
      emitB: (data) => queue.add('job', data, opts),
      close: async () => {
        await worker.close();
        await queue.close();
      },
    },
    waits,
    state,
  );
}

/** Runs this file with LIB=<lib> and resolves to the JSON line it prints. */
function child(lib, url, prefix) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...env, LIB: lib, REDIS_URL: url, PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)))
        : reject(new Error(`${lib} exited ${code}`)),
    );
  });
}

if (env.LIB !== undefined) {
  const run = env.LIB === 'ours' ? ours : bullmq;
  console.log(JSON.stringify(await run(env.REDIS_URL, env.PREFIX)));
} else {
  const { startRedis } = await import('./redis-server.js');
  const redis = await startRedis();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
  let rows;
  try {
    rows = [
      ['nestjs-events, group per tenant', await child('ours', redis.url, 'fair-ours')],
      ['BullMQ (no groups)', await child('bullmq', redis.url, 'fair-bull')],
    ];
  } finally {
    await redis.stop();
  }
  const [[, o], [, b]] = rows;
  const ms = (v) => v.toFixed(1);
  const lines = [
    '## Tenant fairness: B waits while A floods (nestjs-events groups vs BullMQ)',
    '',
    `Tenant A: ${FLOOD.toLocaleString('en-US')} jobs stored while the worker is held, then ` +
      `released; tenant B: one job every ${EVERY_MS} ms until A is drained. One worker at ` +
      `concurrency ${CONCURRENCY}, each job ${WORK_MS} ms (a timer); each library in its own ` +
      `process on one private redis-server. Load average at the start: ${load}.`,
    '',
    '| queue | B jobs | B wait p50 (ms) | B wait p99 (ms) | B wait max (ms) | A drained in (s) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      ([name, r]) =>
        `| ${name} | ${r.b} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.aDrainSeconds.toFixed(2)} |`,
    ),
    '',
    `- B's p99, ours / BullMQ: ${(o.p99 / b.p99).toFixed(3)} (target <= 0.1: ` +
      `${o.p99 <= b.p99 / 10 ? 'met' : '**MISSED**'})`,
  ];
  console.log(lines.join('\n'));
}
