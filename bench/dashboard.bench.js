// Queue throughput on Redis with the dashboard open vs without it. Prints a markdown section.
//
//   npm run build && node bench/dashboard.bench.js      (BENCH_QUICK=1 for a short smoke run)
//
// Each run is a fresh app process (ROLE=app): an HTTP app with EventsModule on a private
// redis-server, EventsDashboardModule, and one queued no-op listener (worker concurrency 10). It
// stores EVENTS jobs with emitMany (batches of 1,000) while its worker runs them, and measures
// jobs/s from the first emit until the queue is drained. With the dashboard "open", a client
// process (ROLE=client) does what the page does: GET api/queues every second, the dead letters
// every 5 s and the history every 10 s, and holds the live tail (server-sent events, every
// event) open, reading all of it (BENCH_DASHBOARD_TAIL=0: polling only, no tail). Runs alternate
// off/on; medians are compared with the target of issue 17 (within 5%). Each run also reports
// the CPU time the app process and the redis-server spent per job (less sensitive to the load of a
// shared machine than jobs/s). BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of each app run.
/* global fetch */
import 'reflect-metadata';
import { execFile, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { TextDecoder } from 'node:util';
import { Injectable, Module } from '@nestjs/common';
import { Redis } from 'ioredis';
import { NestFactory } from '@nestjs/core';
import {
  EventBus,
  EventQueues,
  EventsDashboardModule,
  EventsModule,
  OnEvent,
  ShouldQueue,
} from '../dist/index.js';
import { startRedis } from './redis-server.js';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const SELF = fileURLToPath(import.meta.url);
const log = (message) => process.stderr.write(`[dashboard.bench] ${message}\n`);

// ---------------------------------------------------------------- ROLE=client: the open page
async function client(base) {
  const get = async (path) => {
    const response = await fetch(`${base}/api/${path}`);
    await response.arrayBuffer();
  };
  const every = (ms, path) => setInterval(() => get(path).catch(() => undefined), ms);
  every(1000, 'queues');
  every(5000, 'queues/bench/dead?offset=0&limit=20');
  every(10_000, 'queues/bench/history?minutes=60');
  if (env.BENCH_DASHBOARD_TAIL === '0') return void process.stdout.write('ready\n');
  const tail = await fetch(`${base}/api/tail`);
  const reader = tail.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    // Each message parsed, as the page does.
    buffered += decoder.decode(value, { stream: true });
    const messages = buffered.split('\n\n');
    buffered = messages.pop();
    for (const message of messages) {
      const data = message.split('\n').find((line) => line.startsWith('data: '));
      if (data && JSON.parse(data.slice(6)).type === 'ready') process.stdout.write('ready\n');
    }
  }
}

// ---------------------------------------------------------------- ROLE=app: one measured run
class Sink {
  handle() {}
}
{
  const method = Object.getOwnPropertyDescriptor(Sink.prototype, 'handle');
  ShouldQueue({ queue: 'bench' })(Sink.prototype, 'handle', method);
  OnEvent('bench.event')(Sink.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Sink);
  Injectable()(Sink);
}

async function app() {
  const events = Number(env.EVENTS);
  class BenchModule {}
  Module({
    imports: [
      EventsModule.forRoot({
        redis: env.REDIS_URL,
        prefix: env.PREFIX,
        worker: { concurrency: 10 },
      }),
      EventsDashboardModule.forRoot({ auth: () => true }),
    ],
    providers: [Sink],
  })(BenchModule);
  const nest = await NestFactory.create(BenchModule, { logger: ['error'] });
  await nest.listen(0, '127.0.0.1');
  const base = `${await nest.getUrl()}/events`;
  let page;
  if (env.DASHBOARD === '1') {
    page = spawn(process.execPath, [SELF], {
      env: { ...env, ROLE: 'client', BASE: base },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve, reject) => {
      page.stdout.on('data', (chunk) => chunk.toString().includes('ready') && resolve());
      page.once('exit', () => reject(new Error('the dashboard client exited')));
    });
    await sleep(1500); // let the page's first polls run, as after loading it
  }
  const bus = nest.get(EventBus);
  const queues = nest.get(EventQueues);
  const redis = new Redis(env.REDIS_URL);
  const redisCpu = async () => {
    const info = await redis.info('cpu');
    const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)[1]);
    return field('used_cpu_user') + field('used_cpu_sys');
  };
  const redisBefore = await redisCpu();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let from = 0; from < events; from += 1000) {
    const n = Math.min(1000, events - from);
    await bus.emitMany(
      Array.from({ length: n }, (_, k) => ({ name: 'bench.event', data: { i: from + k } })),
    );
  }
  await queues.drain({ queues: ['bench'], timeoutMs: 600_000 });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const redisSeconds = (await redisCpu()) - redisBefore;
  redis.disconnect();
  page?.kill('SIGTERM');
  await nest.close();
  const result = {
    rate: events / seconds,
    appCpuUs: (cpu.user + cpu.system) / events,
    redisCpuUs: (redisSeconds * 1e6) / events,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- parent
function run(redisUrl, prefix, isOpen, events) {
  const profile = env.BENCH_PROFILE_DIR
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${env.BENCH_PROFILE_DIR}`,
        `--cpu-prof-name=${prefix}.cpuprofile`,
      ]
    : [];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...profile, SELF],
      {
        env: {
          ...env,
          ROLE: 'app',
          REDIS_URL: redisUrl,
          PREFIX: prefix,
          DASHBOARD: isOpen ? '1' : '0',
          EVENTS: String(events),
        },
        timeout: 10 * 60_000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr.slice(-2000)}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()));
      },
    );
  });
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (values) => (Math.max(...values) - Math.min(...values)) / 2 / median(values);

async function parent() {
  const runs = Number(env.BENCH_DASHBOARD_RUNS ?? (QUICK ? 1 : 5));
  const events = QUICK ? 5000 : 50_000;
  const redis = await startRedis();
  const results = { off: [], on: [] };
  const loads = [];
  try {
    for (let i = 0; i < runs; i++) {
      for (const mode of i % 2 ? ['on', 'off'] : ['off', 'on']) {
        loads.push(loadavg()[0]);
        log(`run ${i + 1}/${runs}: dashboard ${mode} (load ${loadavg()[0].toFixed(2)})`);
        results[mode].push(await run(redis.url, `dash-${i}-${mode}`, mode === 'on', events));
      }
    }
  } finally {
    redis.stop();
  }
  const pick = (field) => ({
    off: results.off.map((r) => r[field]),
    on: results.on.map((r) => r[field]),
  });
  const rates = pick('rate');
  const app = pick('appCpuUs');
  const server = pick('redisCpuUs');
  const off = median(rates.off);
  const on = median(rates.on);
  const ratio = on / off;
  const fmt = (values) =>
    `${Math.round(median(values)).toLocaleString('en-US')} jobs/s ±${(spread(values) * 100).toFixed(0)}%`;
  const out = [
    '## Dashboard open vs closed: queue throughput on Redis',
    '',
    `${events.toLocaleString('en-US')} jobs stored with \`emitMany\` (batches of 1,000) while the same process's worker (concurrency 10) runs them, from the first emit until \`drain()\`; a fresh app process per run, ${runs} run(s) per mode, alternating. "Open": a client process polls \`api/queues\` every second, the dead letters every 5 s and the history every 10 s, and reads the unfiltered live tail (every emit and every job), as the page does. ${cpus().length} cores, Node ${process.version}; load average (1 min) during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
    '',
    '| dashboard | throughput (median ± spread) | runs |',
    '|---|---:|---|',
    `| closed | ${fmt(rates.off)} | ${rates.off.map((r) => Math.round(r)).join(', ')} |`,
    `| open | ${fmt(rates.on)} | ${rates.on.map((r) => Math.round(r)).join(', ')} |`,
    '',
    'CPU time per job (median), which the load of a shared machine moves less than jobs/s:',
    '',
    '| dashboard | app process (µs/job) | redis-server (µs/job) |',
    '|---|---:|---:|',
    `| closed | ${median(app.off).toFixed(1)} | ${median(server.off).toFixed(1)} |`,
    `| open | ${median(app.on).toFixed(1)} | ${median(server.on).toFixed(1)} |`,
    '',
    `Open / closed CPU per job: app ${((median(app.on) / median(app.off)) * 100).toFixed(1)}%, redis-server ${((median(server.on) / median(server.off)) * 100).toFixed(1)}%.`,
    '',
    `Open / closed: ${(ratio * 100).toFixed(1)}% (target: within 5%, i.e. ≥ 95%): ${ratio >= 0.95 ? 'met' : '**MISSED**'}.`,
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

if (env.ROLE === 'client') await client(env.BASE);
else if (env.ROLE === 'app') await app();
else await parent();
