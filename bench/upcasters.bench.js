// Upcasters: queue throughput of nestjs-events on Redis when every job is an older version that
// one upcaster brings up to date, against the same jobs without versions. Each case runs in its
// own process on one private redis-server, BENCH_UPCASTER_RUNS rounds (default 3, 1 when quick)
// taking turns: jobs/s are medians ± spread. Prints a markdown section on stdout.
//
//   npm run build && node bench/upcasters.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// N jobs are stored first (a producer app without upcasters: version 1), then a worker app starts
// and the clock runs from its start to the last handler call.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { startRedis } from './redis-server.js';
import { median, rotated, spread } from './rounds.js';
import { EventBus, EventsModule, OnEvent, ShouldQueue, Upcaster } from '../dist/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_UPCASTER_JOBS ?? (QUICK ? 5_000 : 50_000));
const CONCURRENCY = 10;
const RUNS = Number(process.env.BENCH_UPCASTER_RUNS ?? (QUICK ? 1 : 3));
const log = (message) => process.stderr.write(`[upcasters.bench] ${message}\n`);

function sinkClass(onDone) {
  let count = 0;
  class Sink {
    handle() {
      if (++count === N) onDone();
    }
  }
  const method = Object.getOwnPropertyDescriptor(Sink.prototype, 'handle');
  ShouldQueue({ queue: 'bench' })(Sink.prototype, 'handle', method);
  OnEvent('order.placed')(Sink.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Sink);
  Injectable()(Sink);
  return Sink;
}

class Up {
  toV2(data) {
    return { ...data, currency: 'EUR' };
  }
}
{
  const method = Object.getOwnPropertyDescriptor(Up.prototype, 'toV2');
  Upcaster('order.placed', { from: 1 })(Up.prototype, 'toV2', method);
  Reflect.defineMetadata('design:paramtypes', [], Up);
  Injectable()(Up);
}

async function app(url, prefix, providers, worker) {
  class BenchModule {}
  Module({
    imports: [EventsModule.forRoot({ redis: url, prefix, worker })],
    providers,
  })(BenchModule);
  return NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
}

/** Jobs per second of one case (`plain` or `upcast`). */
async function run(kind, url) {
  const prefix = `bench-up-${kind}`;
  const producer = await app(url, prefix, [sinkClass(() => undefined)], false);
  const bus = producer.get(EventBus);
  for (let i = 0; i < N; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) {
      batch.push({ name: 'order.placed', data: { id: j, total: 10 } });
    }
    await bus.emitMany(batch);
  }
  await producer.close();
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const start = performance.now();
  const providers = kind === 'upcast' ? [sinkClass(done), Up] : [sinkClass(done)];
  const worker = await app(url, prefix, providers, { concurrency: CONCURRENCY });
  await finished;
  const perSecond = N / ((performance.now() - start) / 1000);
  await worker.close();
  return perSecond;
}

function child(kind, url) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), kind, url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.on('exit', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`${kind} exited ${code}`)),
    );
  });
}

const [kind, url] = process.argv.slice(2);
if (kind === 'plain' || kind === 'upcast') {
  process.stdout.write(`${await run(kind, url)}\n`);
  process.exit(0);
}

const redis = await startRedis();
try {
  const rates = { plain: [], upcast: [] };
  const label = { plain: 'no upcaster', upcast: 'one upcaster on every job' };
  for (let round = 1; round <= RUNS; round++) {
    for (const kind of rotated(['plain', 'upcast'], round)) {
      const rate = await child(kind, redis.url);
      rates[kind].push(rate);
      log(`round ${round}/${RUNS}: ${label[kind]}: ${Math.round(rate)} jobs/s`);
    }
  }
  const cell = (kind) =>
    `${Math.round(median(rates[kind])).toLocaleString('en-US')} ±${(spread(rates[kind]) * 100).toFixed(0)}%`;
  const ratio = median(rates.upcast) / median(rates.plain);
  process.stdout.write(
    [
      '## Upcasters',
      '',
      `${N} queued jobs stored as version 1, then run at concurrency ${CONCURRENCY} by a worker app`,
      `with one upcaster (1 → 2) or with none; each case in a fresh process, ${RUNS} round(s)`,
      'taking turns, medians ± spread (half the range over the median). The clock runs from the',
      "worker app's start (its boot included) to the last handler call.",
      '',
      '| case | jobs/s |',
      '| --- | ---: |',
      `| no upcaster | ${cell('plain')} |`,
      `| one upcaster on every job | ${cell('upcast')} |`,
      '',
      `Target: at least 90% of the throughput (${(ratio * 100).toFixed(0)}%): ${ratio >= 0.9 ? 'met' : 'MISSED'}.`,
      '',
    ].join('\n'),
  );
} finally {
  await redis.stop();
}
