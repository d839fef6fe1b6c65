// Transactional outbox benchmark (same PostgreSQL and Redis for every variant, each variant in its
// own process, see bench/outbox-child.js): transactions/s of an order INSERT plus one event,
// against the same transaction with no event (the floor) and against it followed by a BullMQ
// add() after commit (the usual, non-atomic pattern); and commit-to-handler-start latency. One more
// variant, the outbox with an in-process listener (no queue), tells the cost of the outbox's own
// row (written with the COMMIT, deleted after dispatch) from that of queueing the job; and the row
// alone (the library's statements with no bus, no dispatch and no queue) shows what PostgreSQL
// itself lets an outbox of this design reach, beside which the targets are set.
// Targets: at least 70% of the floor, no slower than the BullMQ pattern, p99 no higher than it.
// The variants run in ROUNDS rounds (default 3), each round in a rotated order, and the ratios are
// taken within each round: on a shared, loaded machine only ratios of runs side by side count.
// Each variant first runs WARMUP untimed transactions (default 2,000: a fresh process compiles
// its hot code on the cores PostgreSQL needs). CPU per transaction of the variant's process, of
// its PostgreSQL backends and of the redis-server is printed too: work done, which the load of
// the machine moves less than the rates.
//
//   npm run build && node bench/outbox.bench.js      (BENCH_QUICK=1 for a smoke run, ROUNDS=n)
//   BENCH_POSTGRES_URL=postgres://user@host:5432/postgres   admin connection (default: local)
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { URL, fileURLToPath } from 'node:url';
import { adminClient } from './postgres-admin.js';
import { startRedis } from './redis-server.js';

const QUICK = process.env.BENCH_QUICK === '1';
const COUNT = QUICK ? 300 : 5000;
const WARMUP = Number(process.env.WARMUP ?? (QUICK ? 100 : 2000));
const WRITERS = 16;
const ROUNDS = Number(process.env.ROUNDS ?? (QUICK ? 1 : 3));
const VARIANTS = ['floor', 'outbox', 'local', 'row', 'bullmq'];
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
const rounds = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const results = {};
    // Rotated, so that no variant always runs first (or last) in a round.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
    for (const variant of order) {
      const load = loadavg()[0];
      results[variant] = await runVariant(variant, {
        DATABASE_URL: dbUrl.toString(),
        REDIS_PORT: String(redis.port),
        COUNT: String(COUNT),
        WARMUP: String(WARMUP),
        WRITERS: String(WRITERS),
        ROUND: String(round),
      });
      results[variant].load = load;
      log(`round ${round + 1} ${variant}: ${JSON.stringify(results[variant])}`);
    }
    rounds.push(results);
  }
} finally {
  await redis.stop();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}

const median = (values) => {
  const sorted = values.filter((v) => v !== null).sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)];
};
const pick = (variant, key) => median(rounds.map((r) => r[variant][key]));
const [floor, outbox, local, row, bullmq] = VARIANTS.map((variant) => ({
  rate: pick(variant, 'rate'),
  p50: pick(variant, 'p50'),
  p99: pick(variant, 'p99'),
  cpu: ['cpuNode', 'cpuPg', 'cpuRedis'].map((key) => pick(variant, key)),
}));
const cpuOf = ({ cpu: [node, pg, redis] }) => (node === null ? null : node + pg + redis);
const cpu = ({ cpu: [node, pg, redis] }) =>
  node === null ? '-' : `${fmt(node + pg + redis)} (${fmt(node)} + ${fmt(pg)} + ${fmt(redis)})`;
const fmt = (n) => (n === null ? '-' : Math.round(n).toLocaleString('en-US'));
const ms = (n) => (n === null ? '-' : n.toFixed(2));
const verdict = (ok) => (ok ? 'met' : 'MISSED');
// Ratios within each round, then their median.
const ofFloor = median(rounds.map((r) => r.outbox.rate / r.floor.rate));
const localOfFloor = median(rounds.map((r) => r.local.rate / r.floor.rate));
const ofBull = median(rounds.map((r) => r.outbox.rate / r.bullmq.rate));
const rowOfFloor = median(rounds.map((r) => r.row.rate / r.floor.rate));
const rowOfBull = median(rounds.map((r) => r.row.rate / r.bullmq.rate));
// What a target leaves the rest of the outbox (bus, dispatch, Redis, worker): the share of the
// row-only rate it may lose. Negative: the row alone is already below the target.
const left = (share) =>
  share < 0 ? 'nothing (the row alone is already below it)' : `${(share * 100).toFixed(0)}%`;
const leftOf = (target) => left(1 - target / rowOfFloor);
const leftOfBull = left(1 - 1 / rowOfBull);
const cpuDelta = (a, b) => fmt(cpuOf(a) - cpuOf(b));
const p99Ratio = median(rounds.map((r) => r.outbox.p99 / r.bullmq.p99));
const loads = rounds.flatMap((r) => VARIANTS.map((v) => r[v].load));
process.stdout.write(
  [
    '## Transactional outbox',
    '',
    `${fmt(COUNT)} transactions (an order INSERT, plus one event) after ${fmt(WARMUP)} untimed ones, ${WRITERS} writers at once, one ` +
      `queued listener (concurrency 16); PostgreSQL and a private redis-server on loopback, each ` +
      `variant in its own process, ${ROUNDS} round(s) in rotated order, medians${QUICK ? ' (BENCH_QUICK: smoke numbers)' : ''}. ` +
      `Load average (1 min) at the variants' starts: ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}.`,
    '',
    '| variant | transactions/s | commit to handler start p50 (ms) | p99 (ms) | CPU µs/transaction: all (process + PostgreSQL + Redis) |',
    '|---|---:|---:|---:|---:|',
    `| INSERT only (the floor) | ${fmt(floor.rate)} | - | - | ${cpu(floor)} |`,
    `| outbox: INSERT + emit in EventOutbox.transaction | ${fmt(outbox.rate)} | ${ms(outbox.p50)} | ${ms(outbox.p99)} | ${cpu(outbox)} |`,
    `| outbox, an in-process listener only (no queue) | ${fmt(local.rate)} | ${ms(local.p50)} | ${ms(local.p99)} | ${cpu(local)} |`,
    `| the outbox's row alone: no bus, no dispatch, no queue | ${fmt(row.rate)} | - | - | ${cpu(row)} |`,
    `| INSERT, COMMIT, then BullMQ add() (not atomic) | ${fmt(bullmq.rate)} | ${ms(bullmq.p50)} | ${ms(bullmq.p99)} | ${cpu(bullmq)} |`,
    '',
    `- per round, outbox / floor: ${rounds.map((r) => `${((r.outbox.rate / r.floor.rate) * 100).toFixed(0)}%`).join(', ')}; outbox / BullMQ: ${rounds.map((r) => `${(r.outbox.rate / r.bullmq.rate).toFixed(2)}x`).join(', ')}`,
    `- outbox / floor: ${(ofFloor * 100).toFixed(0)}% (target >= 70%): ${verdict(ofFloor >= 0.7)}; with an in-process listener only: ${(localOfFloor * 100).toFixed(0)}%`,
    `- outbox / BullMQ pattern: ${ofBull.toFixed(2)}x (target >= 1): ${verdict(ofBull >= 1)}`,
    `- the outbox's row alone (PostgreSQL's share): ${(rowOfFloor * 100).toFixed(0)}% of the floor, ${rowOfBull.toFixed(2)}x the BullMQ pattern. ` +
      `So 70% of the floor leaves the rest of the outbox (the bus, the dispatch, Redis, the worker) ${leftOf(0.7)} of the row-only rate, ` +
      `and 1x the BullMQ pattern leaves it ${leftOfBull}; that rest costs ${cpuDelta(outbox, row)} µs of CPU per transaction ` +
      `(outbox minus row alone; the row itself: ${cpuDelta(row, floor)} µs over the floor)`,
    `- p99 commit to handler start, outbox vs BullMQ: ${ms(outbox.p99)} vs ${ms(bullmq.p99)} ms (median ratio ${p99Ratio.toFixed(2)}): ${verdict(p99Ratio <= 1)}`,
    '',
  ].join('\n'),
);
