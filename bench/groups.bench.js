// Throughput of queues with groups (`@ShouldQueue({ group })`) against the same queue without
// groups and against BullMQ (which has no groups), on one private redis-server: EVENTS jobs are
// stored while the queue is paused (BullMQ: before its worker starts), then one worker at
// CONCURRENCY drains them to a no-op handler. Prints one line per row and a JSON summary.
// Commands per job and Redis busy time per job come from INFO commandstats over the drain only
// (commands inside Lua scripts included); BENCH_PROFILE=1 prints them by command on stderr.
// Each case runs in a fresh process of its own (our AsyncLocalStorage's promise hooks would tax
// BullMQ in a shared process), BENCH_GROUPS_RUNS rounds (default 3) taking turns: jobs/s are
// medians ± spread (half the range over the median).
//
//   npm run build && node bench/groups.bench.js        (EVENTS=20000 CONCURRENCY=10 by default)
//
// BASE=<dir> adds our grouped cases run by another build in the same rounds ("base, ..."): <dir>
// holds a `dist/` and a `bench/ours-drain.js` (copied from a checkout), and `node_modules` (a
// symlink to this one's), to compare two builds in one session.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.js';
import { median, rotated, runChild, spread } from './rounds.js';
import { bullmqDrain } from './bullmq-drain.js';
import { oursDrain } from './ours-drain.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const BATCH = 1000;
const RUNS = Number(process.env.BENCH_GROUPS_RUNS ?? 3);

let admin;
/** Commands by name over one drain: `{ name: [calls, usec] }` (INFO and RESETSTAT left out). */
async function commandStats() {
  const info = await admin.info('commandstats');
  const stats = {};
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] !== 'info' && m[1] !== 'config|resetstat') stats[m[1]] = [Number(m[2]), Number(m[3])];
  }
  return stats;
}

/** CPU time (µs) the redis-server used so far: less moved by the machine's load than wall time. */
async function redisCpu() {
  const info = await admin.info('cpu');
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)[1]);
  return 1e6 * (field('used_cpu_user') + field('used_cpu_sys'));
}

/**
 * Drain hooks that fill `row.commandsPerJob`, `row.usecPerJob` (Redis's own time in commands)
 * and the CPU time per job of this process (`appCpuPerJob`) and of the redis-server.
 */
function measured(row) {
  let cpu;
  let redisAt;
  return {
    before: async () => {
      await admin.config('RESETSTAT');
      redisAt = await redisCpu();
      cpu = process.cpuUsage();
    },
    after: async () => {
      const used = process.cpuUsage(cpu);
      row.appCpuPerJob = (used.user + used.system) / EVENTS;
      row.redisCpuPerJob = ((await redisCpu()) - redisAt) / EVENTS;
      const stats = Object.entries(await commandStats());
      row.commandsPerJob = stats.reduce((sum, [, [calls]]) => sum + calls, 0) / EVENTS;
      row.usecPerJob = stats.reduce((sum, [, [, usec]]) => sum + usec, 0) / EVENTS;
      if (process.env.BENCH_PROFILE === '1') {
        stats.sort((a, b) => b[1][1] - a[1][1]);
        const text = stats.map(
          ([name, [calls, usec]]) =>
            `${name} ${(calls / EVENTS).toFixed(2)}/job ${(usec / EVENTS).toFixed(1)}µs/job`,
        );
        process.stderr.write(`[groups.bench] ${row.row}: ${text.join(', ')}\n`);
      }
    },
  };
}

/**
 * Our queue with `groups` groups (0: no group option at all), by this build or the one in `base`.
 * Resolves to jobs per second.
 */
async function ours(url, prefix, groups, row, base) {
  const group = groups > 0 ? { group: (e) => `tenant-${e.data.i % groups}` } : {};
  const drain = base
    ? (await import(pathToFileURL(join(base, 'bench/ours-drain.js')).href)).oursDrain
    : oursDrain;
  return drain(url, prefix, {
    events: EVENTS,
    concurrency: CONCURRENCY,
    chunk: BATCH,
    queueOptions: group,
    onDrain: measured(row),
  });
}

/** BullMQ: addBulk, then one worker at CONCURRENCY. Resolves to jobs per second. */
function bullmq(url, prefix, row) {
  return bullmqDrain(url, prefix, {
    events: EVENTS,
    concurrency: CONCURRENCY,
    chunk: BATCH,
    onDrain: measured(row),
  });
}

const CASES = [0, 1, 100, 10_000].map((groups) => ({
  name: groups === 0 ? 'ours, no groups' : `ours, ${groups} group(s)`,
  run: (url, prefix, row) => ours(url, prefix, groups, row),
}));
if (process.env.BASE) {
  for (const groups of [1, 100, 10_000]) {
    CASES.push({
      name: `base, ${groups} group(s)`,
      run: (url, prefix, row) => ours(url, prefix, groups, row, process.env.BASE),
    });
  }
}
CASES.push({ name: 'BullMQ (no groups)', run: (url, prefix, row) => bullmq(url, prefix, row) });

if (process.argv[2] === '--child') {
  // One case in this process: its row as JSON on stdout.
  const [, , , index, url, prefix] = process.argv;
  const { name, run } = CASES[Number(index)];
  admin = new Redis(url);
  const row = { row: name };
  row.jobsPerSecond = await run(url, prefix, row);
  admin.disconnect();
  process.stdout.write(`${JSON.stringify(row)}\n`);
  process.exit(0);
}

const SELF = fileURLToPath(import.meta.url);
const loads = [];
const redis = await startRedis();
const runs = CASES.map(() => []);
try {
  let seq = 0;
  for (let round = 1; round <= RUNS; round++) {
    for (const i of rotated(
      CASES.map((_, i) => i),
      round,
    )) {
      process.stderr.write(
        `[groups.bench] round ${round}/${RUNS}: ${CASES[i].name} (load ${loadavg()[0].toFixed(2)})\n`,
      );
      loads.push(loadavg()[0]);
      const row = runChild(SELF, [i, redis.url, `bench-${++seq}`]);
      process.stderr.write(
        `[groups.bench]   ${Math.round(row.jobsPerSecond)} jobs/s, CPU µs/job: app ` +
          `${row.appCpuPerJob.toFixed(0)}, Redis ${row.redisCpuPerJob.toFixed(0)}\n`,
      );
      runs[i].push(row);
    }
  }
} finally {
  await redis.stop();
}
const rows = runs.map((list) => ({
  row: list[0].row,
  jobsPerSecond: median(list.map((r) => r.jobsPerSecond)),
  spread: spread(list.map((r) => r.jobsPerSecond)),
  commandsPerJob: median(list.map((r) => r.commandsPerJob)),
  usecPerJob: median(list.map((r) => r.usecPerJob)),
  appCpuPerJob: median(list.map((r) => r.appCpuPerJob)),
  redisCpuPerJob: median(list.map((r) => r.redisCpuPerJob)),
}));
const base = rows[0].jobsPerSecond;
const bull = rows.at(-1).jobsPerSecond;
const verdict = (ok) => (ok ? 'met' : '**MISSED**');
const lines = [
  '## Tenant groups: nestjs-events on Redis vs BullMQ (no groups)',
  '',
  `${EVENTS.toLocaleString('en-US')} jobs stored while the queue is paused, then drained by one ` +
    `worker at concurrency ${CONCURRENCY} to a no-op handler; one private redis-server. Each case ` +
    `in a fresh process of its own, ${RUNS} round(s) taking turns; jobs/s are medians ± spread. ` +
    `${cpus().length} cores, Node ${process.version}; load average (1 min) during the runs: ` +
    `median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
  '',
  '| queue | jobs/s | vs our ungrouped queue | vs BullMQ | Redis commands/job | Redis µs/job | ' +
    'app CPU µs/job | Redis CPU µs/job | target |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|',
];
for (const r of rows) {
  const grouped = r.row.startsWith('ours, ') && r.row.includes('group(s)');
  const target = grouped
    ? `>= 2x BullMQ: ${verdict(r.jobsPerSecond >= 2 * bull)}; >= 60% ungrouped: ` +
      verdict(r.jobsPerSecond >= 0.6 * base)
    : '';
  lines.push(
    `| ${r.row} | ${Math.round(r.jobsPerSecond).toLocaleString('en-US')} ±${Math.round(100 * r.spread)}% | ` +
      `${Math.round((100 * r.jobsPerSecond) / base)}% | ${(r.jobsPerSecond / bull).toFixed(2)}x | ` +
      `${r.commandsPerJob.toFixed(1)} | ${r.usecPerJob.toFixed(1)} | ` +
      `${r.appCpuPerJob.toFixed(0)} | ${r.redisCpuPerJob.toFixed(0)} | ${target} |`,
  );
}
const one = rows.find((r) => r.row === 'ours, 1 group(s)').jobsPerSecond;
const many = rows.find((r) => r.row === 'ours, 10000 group(s)').jobsPerSecond;
lines.push(
  '',
  `- cost per job, 10,000 groups vs 1 group: ${(one / many).toFixed(2)}x ` +
    `(target <= 1.3x: ${verdict(one / many <= 1.3)})`,
);
console.log(lines.join('\n'));
