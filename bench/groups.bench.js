// Throughput of queues with groups (`@ShouldQueue({ group })`) against the same queue without
// groups and against BullMQ (which has no groups), on one private redis-server: EVENTS jobs are
// stored while the queue is paused (BullMQ: before its worker starts), then one worker at
// CONCURRENCY drains them to a no-op handler. Prints one line per row and a JSON summary.
// Commands per job and Redis busy time per job come from INFO commandstats over the drain only
// (commands inside Lua scripts included); BENCH_PROFILE=1 prints them by command on stderr.
//
//   npm run build && node bench/groups.bench.js        (EVENTS=20000 CONCURRENCY=10 by default)
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.js';
import { bullmqDrain } from './bullmq-drain.js';
import { oursDrain } from './ours-drain.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const BATCH = 1000;

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

/** Drain hooks that fill `row.commandsPerJob` and `row.usecPerJob`. */
function measured(row) {
  return {
    before: () => admin.config('RESETSTAT'),
    after: async () => {
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

/** Our queue with `groups` groups (0: no group option at all). Resolves to jobs per second. */
function ours(url, prefix, groups, row) {
  const group = groups > 0 ? { group: (e) => `tenant-${e.data.i % groups}` } : {};
  return oursDrain(url, prefix, {
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

const redis = await startRedis();
admin = new Redis(redis.url);
const rows = [];
try {
  let seq = 0;
  for (const groups of [0, 1, 100, 10_000]) {
    const row = { row: groups === 0 ? 'ours, no groups' : `ours, ${groups} group(s)` };
    row.jobsPerSecond = await ours(redis.url, `bench-${++seq}`, groups, row);
    rows.push(row);
  }
  const row = { row: 'BullMQ (no groups)' };
  row.jobsPerSecond = await bullmq(redis.url, `bull-${++seq}`, row);
  rows.push(row);
} finally {
  admin.disconnect();
  await redis.stop();
}
const base = rows[0].jobsPerSecond;
const bull = rows.at(-1).jobsPerSecond;
const verdict = (ok) => (ok ? 'met' : '**MISSED**');
const lines = [
  '## Tenant groups: nestjs-events on Redis vs BullMQ (no groups)',
  '',
  `${EVENTS.toLocaleString('en-US')} jobs stored while the queue is paused, then drained by one ` +
    `worker at concurrency ${CONCURRENCY} to a no-op handler; one private redis-server.`,
  '',
  '| queue | jobs/s | vs our ungrouped queue | vs BullMQ | Redis commands/job | Redis µs/job | target |',
  '|---|---:|---:|---:|---:|---:|---|',
];
for (const r of rows) {
  const grouped = r.row.includes('group(s)');
  const target = grouped
    ? `>= 2x BullMQ: ${verdict(r.jobsPerSecond >= 2 * bull)}; >= 60% ungrouped: ` +
      verdict(r.jobsPerSecond >= 0.6 * base)
    : '';
  lines.push(
    `| ${r.row} | ${Math.round(r.jobsPerSecond).toLocaleString('en-US')} | ` +
      `${Math.round((100 * r.jobsPerSecond) / base)}% | ${(r.jobsPerSecond / bull).toFixed(2)}x | ` +
      `${r.commandsPerJob.toFixed(1)} | ${r.usecPerJob.toFixed(1)} | ${target} |`,
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
