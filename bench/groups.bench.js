// Throughput of queues with groups (`@ShouldQueue({ group })`) against the same queue without
// groups and against BullMQ (which has no groups), on one private redis-server: EVENTS jobs are
// stored while the queue is paused (BullMQ: before its worker starts), then one worker at
// CONCURRENCY drains them to a no-op handler. Prints one line per row and a JSON summary.
//
//   npm run build && node bench/groups.bench.js        (EVENTS=20000 CONCURRENCY=10 by default)
import { startRedis } from './redis-server.js';
import { bullmqDrain } from './bullmq-drain.js';
import { oursDrain } from './ours-drain.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const BATCH = 1000;

/** Our queue with `groups` groups (0: no group option at all). Resolves to jobs per second. */
function ours(url, prefix, groups) {
  const group = groups > 0 ? { group: (e) => `tenant-${e.data.i % groups}` } : {};
  return oursDrain(url, prefix, {
    events: EVENTS,
    concurrency: CONCURRENCY,
    chunk: BATCH,
    queueOptions: group,
  });
}

/** BullMQ: addBulk, then one worker at CONCURRENCY. Resolves to jobs per second. */
function bullmq(url, prefix) {
  return bullmqDrain(url, prefix, { events: EVENTS, concurrency: CONCURRENCY, chunk: BATCH });
}

const redis = await startRedis();
const rows = [];
try {
  let seq = 0;
  const ungrouped = await ours(redis.url, `bench-${++seq}`, 0);
  rows.push({ row: 'ours, no groups', jobsPerSecond: ungrouped });
  for (const groups of [1, 100, 10_000]) {
    const rate = await ours(redis.url, `bench-${++seq}`, groups);
    rows.push({ row: `ours, ${groups} group(s)`, jobsPerSecond: rate });
  }
  rows.push({ row: 'BullMQ (no groups)', jobsPerSecond: await bullmq(redis.url, `bull-${++seq}`) });
} finally {
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
  '| queue | jobs/s | vs our ungrouped queue | vs BullMQ | target |',
  '|---|---:|---:|---:|---|',
];
for (const r of rows) {
  const grouped = r.row.includes('group(s)');
  const target = grouped
    ? `>= 2x BullMQ: ${verdict(r.jobsPerSecond >= 2 * bull)}; >= 60% ungrouped: ` +
      verdict(r.jobsPerSecond >= 0.6 * base)
    : '';
  lines.push(
    `| ${r.row} | ${Math.round(r.jobsPerSecond).toLocaleString('en-US')} | ` +
      `${Math.round((100 * r.jobsPerSecond) / base)}% | ${(r.jobsPerSecond / bull).toFixed(2)}x | ${target} |`,
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
