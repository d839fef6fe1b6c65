// Throughput of queues with groups (`@ShouldQueue({ group })`) against the same queue without
// groups and against BullMQ (which has no groups), on one private redis-server: EVENTS jobs are
// stored while the queue is paused (BullMQ: before its worker starts), then one worker at
// CONCURRENCY drains them to a no-op handler. Prints one line per row and a JSON summary.
//
//   npm run build && node bench/groups.bench.js        (EVENTS=20000 CONCURRENCY=10 by default)
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { EventBus, EventQueues, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';
import { startRedis } from './redis-server.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const BATCH = 1000;

/** Our queue with `groups` groups (0: no group option at all). Resolves to jobs per second. */
async function ours(url, prefix, groups) {
  let handled = 0;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  class Sink {
    handle() {
      if (++handled === EVENTS) resolveDone();
    }
  }
  const method = Object.getOwnPropertyDescriptor(Sink.prototype, 'handle');
  const group = groups > 0 ? { group: (e) => `tenant-${e.data.i % groups}` } : {};
  ShouldQueue({ queue: 'bench', ...group })(Sink.prototype, 'handle', method);
  OnEvent('bench.event')(Sink.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Sink);
  Injectable()(Sink);
  class BenchModule {}
  Module({
    imports: [EventsModule.forRoot({ redis: url, prefix, worker: { concurrency: CONCURRENCY } })],
    providers: [Sink],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  const bus = app.get(EventBus);
  const queues = app.get(EventQueues);
  await queues.pause('bench');
  for (let from = 0; from < EVENTS; from += BATCH) {
    await bus.emitMany(
      Array.from({ length: BATCH }, (_, k) => ({ name: 'bench.event', data: { i: from + k } })),
    );
  }
  const startedAt = performance.now();
  await queues.resume('bench');
  await done;
  const seconds = (performance.now() - startedAt) / 1000;
  await app.close();
  return EVENTS / seconds;
}

/** BullMQ: addBulk, then one worker at CONCURRENCY. Resolves to jobs per second. */
async function bullmq(url, prefix) {
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const queue = new Queue(prefix, { connection });
  const opts = { removeOnComplete: true, removeOnFail: true };
  for (let from = 0; from < EVENTS; from += BATCH) {
    await queue.addBulk(
      Array.from({ length: BATCH }, (_, k) => ({ name: 'job', data: { i: from + k }, opts })),
    );
  }
  let handled = 0;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  const startedAt = performance.now();
  const worker = new Worker(
    prefix,
    async () => {
      if (++handled === EVENTS) resolveDone();
    },
    { connection, concurrency: CONCURRENCY },
  );
  await done;
  const seconds = (performance.now() - startedAt) / 1000;
  await worker.close();
  await queue.close();
  return EVENTS / seconds;
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
