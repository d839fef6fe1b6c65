// Throughput of a batched no-op handler (`@ShouldQueue({ batch: { maxSize: 100 } })`) against the
// same no-op handler taking single jobs, and against BullMQ single jobs, on one private
// redis-server. Each row runs in its own process: EVENTS jobs are stored while the queue is paused
// (BullMQ: before its worker starts), then one worker at CONCURRENCY drains them.
//
//   npm run build && node bench/batch.bench.js        (EVENTS=20000 CONCURRENCY=10 by default)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedis } from './redis-server.js';
import { bullmqDrain } from './bullmq-drain.js';
import { oursDrain } from './ours-drain.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const BATCH_SIZE = 100;
const EMIT_CHUNK = 1000;

/** Our queue, batched (maxSize `batchSize`) or not (0). Resolves to jobs per second. */
function ours(url, prefix, batchSize) {
  const batched = batchSize > 0;
  return oursDrain(url, prefix, {
    events: EVENTS,
    concurrency: CONCURRENCY,
    chunk: EMIT_CHUNK,
    queueOptions: batched ? { batch: { maxSize: batchSize, maxWaitMs: 50 } } : {},
    handled: batched ? (events) => events.length : undefined,
  });
}

/** BullMQ: addBulk, then one worker at CONCURRENCY. Resolves to jobs per second. */
function bullmq(url, prefix) {
  return bullmqDrain(url, prefix, { events: EVENTS, concurrency: CONCURRENCY, chunk: EMIT_CHUNK });
}

const [row, url, prefix] = process.argv.slice(2);
if (row !== undefined) {
  // A child: one row, its rate printed as JSON.
  const rate = row === 'bullmq' ? await bullmq(url, prefix) : await ours(url, prefix, Number(row));
  console.log(JSON.stringify({ rate }));
  process.exit(0);
}

const redis = await startRedis();
const rows = [];
try {
  let seq = 0;
  const run = (arg) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [fileURLToPath(import.meta.url), arg, redis.url, `b-${++seq}`],
        {
          encoding: 'utf8',
        },
      )
        .trim()
        .split('\n')
        .at(-1),
    ).rate;
  rows.push({ row: 'ours, single jobs', jobsPerSecond: run('0') });
  rows.push({
    row: `ours, batched (maxSize ${BATCH_SIZE})`,
    jobsPerSecond: run(String(BATCH_SIZE)),
  });
  rows.push({ row: 'BullMQ, single jobs', jobsPerSecond: run('bullmq') });
} finally {
  await redis.stop();
}
const single = rows[0].jobsPerSecond;
const bull = rows[2].jobsPerSecond;
const lines = [
  '## Batched handlers: nestjs-events on Redis, batched vs single jobs (BullMQ for reference)',
  '',
  `${EVENTS.toLocaleString('en-US')} jobs stored while the queue is paused, then drained by one ` +
    `worker at concurrency ${CONCURRENCY} to a no-op handler; one private redis-server, each row ` +
    'in its own process.',
  '',
  '| queue | events/s | vs our single jobs | vs BullMQ |',
  '|---|---:|---:|---:|',
];
for (const r of rows) {
  lines.push(
    `| ${r.row} | ${Math.round(r.jobsPerSecond).toLocaleString('en-US')} | ` +
      `${(r.jobsPerSecond / single).toFixed(2)}x | ${(r.jobsPerSecond / bull).toFixed(2)}x |`,
  );
}
console.log(lines.join('\n'));
