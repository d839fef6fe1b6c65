// Dead-letter admin benchmark: nestjs-events on Redis vs BullMQ, on N dead (failed) jobs each, on
// one private redis-server. Prints a markdown section on stdout, progress on stderr.
//
//   npm run build && node bench/dead-letters.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// Both sides fill their dead letters the real way: N jobs whose handler throws, one attempt each.
// Then, with no worker running: a page of 50 deep in the list (ours by cursor, `after`, and by
// offset; BullMQ `getFailed(start, end)`), one job retried by id (median of 5), every job retried
// (`retryDead('all')` / `retryJobs({ state: 'failed' })`), and, after filling again, a purge
// (`purgeDead` / `clean(0, 0, 'failed')`).
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Job } from 'bullmq';
import { Failing, fillBullFailed, pump } from './dead-fill.js';
import { startRedis } from './redis-server.js';
import { EventBus, EventQueues, EventsModule } from '../dist/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_DEAD_JOBS ?? (QUICK ? 10_000 : 100_000));
const PAGE = 50;
const DEEP = Math.floor(N * 0.9);
const CONCURRENCY = 200;
const log = (message) => process.stderr.write(`[dead-letters.bench] ${message}\n`);

/** Median time (ms) of `runs` calls of `fn(i)`. */
async function median(runs, fn) {
  const took = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn(i);
    took.push(performance.now() - start);
  }
  took.sort((a, b) => a - b);
  return took[Math.floor(runs / 2)];
}

async function once(fn) {
  const start = performance.now();
  const result = await fn();
  return { ms: performance.now() - start, result };
}

// ---------------------------------------------------------------- nestjs-events
async function eventsApp(url, prefix, worker) {
  class BenchModule {}
  Module({
    // A deep `offset` page reads every entry before it: give it time (the cursor needs none).
    imports: [EventsModule.forRoot({ redis: url, prefix, worker, redisCommandTimeout: 120_000 })],
    providers: [Failing],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  return { app, bus: app.get(EventBus), queues: app.get(EventQueues) };
}

async function fillOurs(url, prefix) {
  const { app, bus, queues } = await eventsApp(url, prefix, { concurrency: CONCURRENCY });
  const start = performance.now();
  await pump(N, (i) => bus.emit('bench.dead', { i }));
  await queues.drain({ timeoutMs: 30 * 60_000 });
  const dead = (await queues.counts('dead')).dead;
  await app.close();
  if (dead !== N) throw new Error(`nestjs-events: ${dead} dead jobs, expected ${N}`);
  log(`nestjs-events: ${N} dead jobs in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

async function ours(url) {
  const prefix = 'bench-dead';
  await fillOurs(url, prefix);
  const { app, queues } = await eventsApp(url, prefix, false);
  // Walk to the deep page the way a user pages: 1,000 at a time, each page after the last.
  let marker;
  for (let seen = 0; seen < DEEP; seen += 1000) {
    const page = await queues.listDead('dead', {
      after: marker?.id,
      limit: Math.min(1000, DEEP - seen),
    });
    marker = page[page.length - 1];
  }
  const cursor = await median(5, () => queues.listDead('dead', { after: marker.id, limit: PAGE }));
  const offset = await median(5, () => queues.listDead('dead', { offset: DEEP, limit: PAGE }));
  const victims = await queues.listDead('dead', { after: marker.id, limit: 5 });
  const retryOne = await median(5, (i) => queues.retryDead('dead', victims[i].id));
  const all = await once(() => queues.retryDead('dead', 'all'));
  log(`nestjs-events: retried all (${all.result}) in ${all.ms.toFixed(0)} ms`);
  await app.close();
  await fillOurs(url, `${prefix}-2`);
  const admin = await eventsApp(url, `${prefix}-2`, false);
  const purge = await once(() => admin.queues.purgeDead('dead'));
  await admin.app.close();
  return { cursor, offset, retryOne, retryAll: all.ms, purge: purge.ms };
}

// ---------------------------------------------------------------- BullMQ
async function fillBull(port, name) {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const start = performance.now();
  const queue = await fillBullFailed(connection, name, N, CONCURRENCY);
  log(`BullMQ: ${N} failed jobs in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return queue;
}

async function bull(port) {
  const queue = await fillBull(port, 'bull-dead');
  const page = await median(5, () => queue.getFailed(DEEP, DEEP + PAGE - 1));
  const victims = await queue.getFailed(DEEP, DEEP + 4);
  const retryOne = await median(5, async (i) => {
    const job = await Job.fromId(queue, victims[i].id);
    await job.retry('failed');
  });
  const all = await once(() => queue.retryJobs({ state: 'failed', count: 1000 }));
  await queue.close();
  const second = await fillBull(port, 'bull-dead-2');
  const purge = await once(() => second.clean(0, 0, 'failed'));
  const left = await second.getFailedCount();
  if (left !== 0) throw new Error(`BullMQ clean left ${left} failed jobs`);
  await second.close();
  return { page, retryOne, retryAll: all.ms, purge: purge.ms };
}

// ---------------------------------------------------------------- report
const fmt = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0));
const ratio = (theirs, mine) => `${(theirs / mine).toFixed(1)}x`;

async function main() {
  const redis = await startRedis();
  try {
    log(`redis-server on ${redis.port}; ${N} dead jobs per side`);
    const o = await ours(redis.url);
    const b = await bull(redis.port);
    const rows = [
      [
        `page of ${PAGE} at ${DEEP.toLocaleString('en')} (ours: cursor \`after\`)`,
        o.cursor,
        b.page,
      ],
      [`page of ${PAGE} at ${DEEP.toLocaleString('en')} (ours: \`offset\`)`, o.offset, b.page],
      ['retry one job by id (median of 5)', o.retryOne, b.retryOne],
      [`retry all ${N.toLocaleString('en')}`, o.retryAll, b.retryAll],
      [`purge all ${N.toLocaleString('en')}`, o.purge, b.purge],
    ];
    const out = [
      '## Dead-letter admin',
      '',
      `${N.toLocaleString('en')} dead jobs (nestjs-events dead letters, BullMQ failed set), no worker running, one private redis-server. BullMQ ${'6.7'}: \`getFailed(start, end)\`, \`Job.fromId(...).retry()\`, \`retryJobs({ state: 'failed' })\`, \`clean(0, 0, 'failed')\`. Ratio = BullMQ time / ours (above 1: ours is faster).`,
      '',
      '| operation | nestjs-events (ms) | BullMQ (ms) | ratio |',
      '|---|---:|---:|---:|',
      ...rows.map(
        ([name, mine, theirs]) =>
          `| ${name} | ${fmt(mine)} | ${fmt(theirs)} | ${ratio(theirs, mine)} |`,
      ),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    redis.stop();
  }
}

await main();
process.exit(0);
