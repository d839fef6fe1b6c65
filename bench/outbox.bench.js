// Transactional outbox benchmark (same PostgreSQL and Redis for every variant, each variant in its
// own process, see bench/outbox-child.js): transactions/s of an order INSERT plus one event,
// against the same transaction with no event (the floor) and against it followed by a BullMQ
// add() after commit (the usual, non-atomic pattern); and commit-to-handler-start latency.
// Targets: at least 70% of the floor, no slower than the BullMQ pattern, p99 no higher than it.
//
//   npm run build && node bench/outbox.bench.js      (BENCH_QUICK=1 for a smoke run)
//   BENCH_POSTGRES_URL=postgres://user@host:5432/postgres   admin connection (default: local)
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { URL, fileURLToPath } from 'node:url';
import { adminClient } from './postgres-admin.js';
import { startRedis } from './redis-server.js';

const QUICK = process.env.BENCH_QUICK === '1';
const COUNT = QUICK ? 300 : 5000;
const WRITERS = 16;
const CHILD = fileURLToPath(new URL('./outbox-child.js', import.meta.url));
const log = (message) => process.stderr.write(`[outbox.bench] ${message}\n`);

function runVariant(variant, env) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CHILD],
      { env: { ...process.env, ...env, VARIANT: variant }, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${variant} failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()));
      },
    );
  });
}

const { client: admin, url } = await adminClient();
const name = `nestjs_events_bench_${randomBytes(4).toString('hex')}`;
await admin.query(`CREATE DATABASE "${name}"`);
const dbUrl = new URL(url);
dbUrl.pathname = `/${name}`;
const redis = await startRedis();
const results = {};
try {
  for (const variant of ['floor', 'outbox', 'bullmq']) {
    results[variant] = await runVariant(variant, {
      DATABASE_URL: dbUrl.toString(),
      REDIS_PORT: String(redis.port),
      COUNT: String(COUNT),
      WRITERS: String(WRITERS),
    });
    log(`${variant}: ${JSON.stringify(results[variant])}`);
  }
} finally {
  await redis.stop();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}

const { floor, outbox, bullmq } = results;
const fmt = (n) => (n === null ? '-' : Math.round(n).toLocaleString('en-US'));
const ms = (n) => (n === null ? '-' : n.toFixed(2));
const verdict = (ok) => (ok ? 'met' : 'MISSED');
const ofFloor = outbox.rate / floor.rate;
const ofBull = outbox.rate / bullmq.rate;
process.stdout.write(
  [
    '## Transactional outbox',
    '',
    `${fmt(COUNT)} transactions (an order INSERT, plus one event), ${WRITERS} writers at once, one ` +
      `queued listener (concurrency 16); PostgreSQL and a private redis-server on loopback, each ` +
      `variant in its own process${QUICK ? ' (BENCH_QUICK: smoke numbers)' : ''}.`,
    '',
    '| variant | transactions/s | commit to handler start p50 (ms) | p99 (ms) |',
    '|---|---:|---:|---:|',
    `| INSERT only (the floor) | ${fmt(floor.rate)} | - | - |`,
    `| outbox: INSERT + emit in EventOutbox.transaction | ${fmt(outbox.rate)} | ${ms(outbox.p50)} | ${ms(outbox.p99)} |`,
    `| INSERT, COMMIT, then BullMQ add() (not atomic) | ${fmt(bullmq.rate)} | ${ms(bullmq.p50)} | ${ms(bullmq.p99)} |`,
    '',
    `- outbox / floor: ${(ofFloor * 100).toFixed(0)}% (target >= 70%): ${verdict(ofFloor >= 0.7)}`,
    `- outbox / BullMQ pattern: ${ofBull.toFixed(2)}x (target >= 1): ${verdict(ofBull >= 1)}`,
    `- p99 commit to handler start, outbox vs BullMQ: ${ms(outbox.p99)} vs ${ms(bullmq.p99)} ms: ${verdict(outbox.p99 <= bullmq.p99)}`,
    '',
  ].join('\n'),
);
