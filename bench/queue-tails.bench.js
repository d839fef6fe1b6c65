// Queue tails and bulk storing: nestjs-events on Redis vs BullMQ, each library in its own process
// (bench/queue-child.js), on one private redis-server. Prints a markdown section on stdout.
//
//   npm run build && node bench/queue-tails.bench.js      (BENCH_QUICK=1 for a short smoke run)
//
// Latency: a steady rate (1,000 and 10,000 events/s) at worker concurrency 1 and 10, a no-op
// handler: emit -> handler start (p50, p99, p99.9, max), the emit's own promise (BullMQ: add()),
// and the GC pauses of the process while it ran. Bulk: 100,000 jobs stored with emitMany /
// addBulk in batches of 1,000, no worker. Every case runs 3 times, the libraries taking turns;
// medians and spreads (half the range over the median) are printed, and each target of issue 15
// is checked against the medians (met / MISSED).
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from './redis-server.js';

const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = Number(process.env.BENCH_TAILS_RUNS ?? (QUICK ? 1 : 3));
const SECONDS = QUICK ? 1 : 5;
const BULK_EVENTS = QUICK ? 10_000 : 100_000;
const CASES = [
  { rate: 1000, concurrency: 1 },
  { rate: 1000, concurrency: 10 },
  { rate: 10_000, concurrency: 1 },
  { rate: 10_000, concurrency: 10 },
];
const LIBS = ['ours', 'bullmq'];
const NAMES = { ours: 'nestjs-events', bullmq: 'BullMQ' };
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'queue-child.js');
const log = (message) => process.stderr.write(`[queue-tails.bench] ${message}\n`);

let seq = 0;
function child(redisUrl, env) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CHILD],
      {
        env: { ...process.env, REDIS_URL: redisUrl, PREFIX: `tails-${++seq}`, ...env },
        maxBuffer: 1 << 24,
        timeout: 5 * 60_000,
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
const spread = (values) => {
  const m = median(values);
  return m === 0 ? 0 : (Math.max(...values) - Math.min(...values)) / 2 / m;
};
const ms = (values) => `${median(values).toFixed(2)} ±${(spread(values) * 100).toFixed(0)}%`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const redis = await startRedis();
const latency = new Map(); // `${case}|${lib}` -> results[]
const bulk = { ours: [], bullmq: [] };
const loads = [];
try {
  for (let run = 0; run < RUNS; run++) {
    for (const c of CASES) {
      for (const lib of run % 2 ? [...LIBS].reverse() : LIBS) {
        loads.push(loadavg()[0]);
        log(
          `run ${run + 1}/${RUNS}: ${lib} at ${c.rate}/s, concurrency ${c.concurrency} (load ${load()})`,
        );
        const result = await child(redis.url, {
          LIB: lib,
          MODE: 'latency',
          RATE: String(c.rate),
          CONCURRENCY: String(c.concurrency),
          SECONDS: String(SECONDS),
        });
        const key = `${c.rate}|${c.concurrency}|${lib}`;
        latency.set(key, [...(latency.get(key) ?? []), result]);
      }
    }
    for (const lib of run % 2 ? [...LIBS].reverse() : LIBS) {
      log(`run ${run + 1}/${RUNS}: ${lib} bulk, ${BULK_EVENTS} jobs`);
      bulk[lib].push(
        (await child(redis.url, { LIB: lib, MODE: 'bulk', EVENTS: String(BULK_EVENTS) })).rate,
      );
    }
  }
} finally {
  redis.stop();
}

const pick = (key, f) => latency.get(key).map(f);
const out = [];
out.push('## Queue tails and bulk storing: nestjs-events vs BullMQ');
out.push('');
out.push(
  `Each library in its own process (\`bench/queue-child.js\`), one private redis-server (persistence off), ${cpus().length} cores, Node ${process.version}. ${RUNS} run(s) per case, the libraries taking turns; each figure is the median of the runs ± the spread (half the range over the median). Load average (1 min) during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}: above ${cpus().length} the CPU was shared with other work and the tails are noisier.`,
);
out.push('');
out.push(
  `Latency: a steady rate for ${SECONDS} s after 1 s of warm-up (1 ms ticks), a no-op handler; **start** is emit → handler start, **emit** is the emit's own promise (BullMQ: \`queue.add()\`, with \`removeOnComplete\`/\`removeOnFail\`). GC: the process's pauses while measuring (\`perf_hooks\` gc entries), minor = scavenges.`,
);
out.push('');
out.push(
  '| rate/s | concurrency | library | start p50 (ms) | start p99 | start p99.9 | start max | emit p99 | minor GCs | mean minor GC (ms) |',
);
out.push('|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|');
for (const c of CASES) {
  for (const lib of LIBS) {
    const key = `${c.rate}|${c.concurrency}|${lib}`;
    out.push(
      `| ${c.rate.toLocaleString('en-US')} | ${c.concurrency} | ${NAMES[lib]} | ${ms(pick(key, (r) => r.start.p50))} | ${ms(pick(key, (r) => r.start.p99))} | ${ms(pick(key, (r) => r.start.p999))} | ${ms(pick(key, (r) => r.start.max))} | ${ms(pick(key, (r) => r.emit.p99))} | ${median(pick(key, (r) => r.gc.minor))} | ${ms(pick(key, (r) => r.gc.minorMeanMs))} |`,
    );
  }
}
out.push('');
const bulkRatio = median(bulk.ours) / median(bulk.bullmq);
out.push(
  `Bulk storing, ${BULK_EVENTS.toLocaleString('en-US')} jobs in batches of 1,000, no worker: nestjs-events \`bus.emitMany\` ${Math.round(median(bulk.ours)).toLocaleString('en-US')} jobs/s ±${(spread(bulk.ours) * 100).toFixed(0)}%, BullMQ \`queue.addBulk\` ${Math.round(median(bulk.bullmq)).toLocaleString('en-US')} jobs/s ±${(spread(bulk.bullmq) * 100).toFixed(0)}% (${bulkRatio.toFixed(2)}×).`,
);
out.push('');
out.push('**Targets** (issue 15), on the medians:');
out.push('');
out.push('| target | case | nestjs-events | BullMQ bound | |');
out.push('|---|---|---:|---:|---|');
const check = (target, where, ours, bound) =>
  out.push(
    `| ${target} | ${where} | ${ours.toFixed(2)} | ${bound.toFixed(2)} | ${ours <= bound ? 'met' : '**MISSED**'} |`,
  );
for (const c of CASES) {
  const where = `${c.rate.toLocaleString('en-US')}/s, c=${c.concurrency}`;
  const o = `${c.rate}|${c.concurrency}|ours`;
  const b = `${c.rate}|${c.concurrency}|bullmq`;
  check(
    'start p99 ≤ BullMQ p99',
    where,
    median(pick(o, (r) => r.start.p99)),
    median(pick(b, (r) => r.start.p99)),
  );
  check(
    'start p99.9 ≤ 2× BullMQ p99.9',
    where,
    median(pick(o, (r) => r.start.p999)),
    2 * median(pick(b, (r) => r.start.p999)),
  );
  check(
    'emit p99 ≤ BullMQ add() p99',
    where,
    median(pick(o, (r) => r.emit.p99)),
    median(pick(b, (r) => r.emit.p99)),
  );
}
out.push(
  `| emitMany ≥ 3× addBulk | ${BULK_EVENTS.toLocaleString('en-US')} jobs | ${bulkRatio.toFixed(2)}× | 3.00× | ${bulkRatio >= 3 ? 'met' : '**MISSED**'} |`,
);
out.push('');
process.stdout.write(`${out.join('\n')}\n`);
process.exit(0);
