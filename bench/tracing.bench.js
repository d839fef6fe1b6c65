// Tracing's cost: nestjs-events with an OpenTelemetry SDK (no-op exporter) and `tracing: true`
// against the same with `tracing: false` and no SDK, in one run, each subject in its own process
// (bench/tracing-child.js), beside the libraries the targets name. Prints a markdown
// section on stdout, progress on stderr.
//
//   npm run build && node bench/tracing.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// In-process: ns per emit to 1 and 10 sync listeners (no span is made there: the cost is the
// SDK's context manager); target: still faster than @nestjs/event-emitter (wildcard).
// Redis queue: events/s, emit to handler completion (a PRODUCER span per emit, a CONSUMER span
// per attempt); target: at least 3x BullMQ at each concurrency.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from './redis-server.js';

const QUICK = process.env.BENCH_QUICK === '1';
const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const COUNT = QUICK ? 20_000 : 200_000;
const ROUNDS = QUICK ? 3 : 7;
const EVENTS = Number(process.env.BENCH_TRACING_EVENTS ?? (QUICK ? 5_000 : 50_000));
const CONCURRENCIES = (process.env.BENCH_TRACING_CONCURRENCY ?? (QUICK ? '10' : '1,10,100'))
  .split(',')
  .map(Number);
const log = (message) => process.stderr.write(`[tracing.bench] ${message}\n`);

let seq = 0;
/** Runs one subject in a child process (`file`); resolves to its JSON line. */
function child(env, file = 'tracing-child.js') {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(BENCH_DIR, file)], {
      env: { ...process.env, ...env, PREFIX: `tracing-${process.pid}-${++seq}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    proc.once('exit', (code) => {
      const line = out.trim().split('\n').pop();
      if (code === 0 && line) resolve(JSON.parse(line));
      else reject(new Error(`${file} ${JSON.stringify(env)} exited with ${code}`));
    });
  });
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
const verdict = (ok) => (ok ? 'met' : '**MISSED**');

const redis = await startRedis();
const out = ['## Tracing: cost of OpenTelemetry spans', ''];
try {
  out.push(
    `nestjs-events with \`tracing: true\` and an OpenTelemetry SDK (AsyncLocalStorage context manager, W3C propagator, a batch processor whose exporter drops every span) against \`tracing: false\` without an SDK, same run, each in its own process.`,
  );
  out.push('');
  out.push(
    '| in-process emit, sync listeners | tracing off (ns/emit) | tracing on (ns/emit) | on vs off | `@nestjs/event-emitter` wildcard (ns/emit) | target: on faster than it |',
  );
  out.push('|---|---:|---:|---:|---:|---|');
  for (const listeners of [1, 10]) {
    const run = (SUBJECT) =>
      child({
        SUBJECT,
        MODE: 'emit',
        LISTENERS: String(listeners),
        COUNT: String(COUNT),
        ROUNDS: String(ROUNDS),
      });
    log(`in-process, ${listeners} listener(s)`);
    const off = await run('off');
    const on = await run('on');
    const nest = await run('nest');
    out.push(
      `| ${listeners} | ${off.ns.toFixed(0)} | ${on.ns.toFixed(0)} | ${ratio(off.ns, on.ns)} speed | ${nest.ns.toFixed(0)} | ${verdict(on.ns < nest.ns)} (${ratio(nest.ns, on.ns)}) |`,
    );
  }
  out.push('');
  out.push(
    `Redis queue, ${fmt(EVENTS)} events, no-op handler, producer and worker in one process:`,
  );
  out.push('');
  out.push(
    '| concurrency | tracing off (events/s) | tracing on (events/s) | on vs off | BullMQ (jobs/s) | target: on ≥ 3× BullMQ | CPU µs/event off / on / BullMQ |',
  );
  out.push('|---:|---:|---:|---:|---:|---|---:|');
  for (const concurrency of CONCURRENCIES) {
    const run = (SUBJECT) =>
      child({
        SUBJECT,
        MODE: 'queue',
        EVENTS: String(EVENTS),
        CONCURRENCY: String(concurrency),
        REDIS_URL: redis.url,
      });
    log(`queue, concurrency ${concurrency}`);
    const off = await run('off');
    const on = await run('on');
    const bull = await run('bullmq');
    out.push(
      `| ${concurrency} | ${fmt(off.rate)} | ${fmt(on.rate)} | ${ratio(on.rate, off.rate)} | ${fmt(bull.rate)} | ${verdict(on.rate >= 3 * bull.rate)} (${ratio(on.rate, bull.rate)}) | ${off.cpuUs.toFixed(1)} / ${on.cpuUs.toFixed(1)} / ${bull.cpuUs.toFixed(1)} |`,
    );
  }
  out.push('');
  out.push(
    "CPU per span (ns), the adapter against the bare SDK calls that make the same span (`bench/tracing-spans-child.js`; the difference is the adapter's own):",
  );
  out.push('');
  out.push('| sampler | send: adapter | send: bare SDK | process: adapter | process: bare SDK |');
  out.push('|---|---:|---:|---:|---:|');
  for (const sampler of ['on', 'off']) {
    log(`spans, sampler ${sampler}`);
    const spans = await child(
      { SAMPLER: sampler, COUNT: String(QUICK ? 5_000 : 20_000), ROUNDS: String(ROUNDS) },
      'tracing-spans-child.js',
    );
    const label = sampler === 'on' ? 'records every span' : 'drops every span';
    out.push(
      `| ${label} | ${fmt(spans.oursSend)} | ${fmt(spans.bareSend)} | ${fmt(spans.oursProcess)} | ${fmt(spans.bareProcess)} |`,
    );
  }
  out.push('');
  out.push(
    `CPU µs/event: CPU time of the subject's own process per event (producer and worker); redis-server's is not in it (BullMQ runs more of its work there, in Lua). Load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} on ${os.cpus().length} CPUs.`,
  );
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  redis.stop();
}
process.exit(0);
