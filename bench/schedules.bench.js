// Scheduled events: Redis commands per scheduled occurrence, nestjs-events (`every` schedules and
// a queued listener) vs BullMQ job schedulers (`upsertJobScheduler` and a worker), each library in
// its own process on one private redis-server. Prints a markdown section on stdout.
//
//   npm run build && node bench/schedules.bench.js        (BENCH_QUICK=1 for a short smoke run)
//
// Commands: INFO commandstats deltas (commands run inside Lua included), from after the setup to
// the occurrence that reaches the target, idle polling between occurrences included.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.js';
import { EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const SCHEDULES = QUICK ? 10 : 50;
const OCCURRENCES = QUICK ? 30 : 500;
const EVERY_MS = 1000;
const log = (message) => process.stderr.write(`[schedules.bench] ${message}\n`);

async function commands(admin) {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info' && match[1] !== 'config|resetstat') total += Number(match[2]);
  }
  return total;
}

/** Waits until `count()` reaches the target, then returns commands per occurrence. */
async function measure(admin, count) {
  await admin.config('RESETSTAT');
  const start = count();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      if (count() - start >= OCCURRENCES) resolve(clearInterval(timer));
    }, 5);
  });
  return (await commands(admin)) / (count() - start);
}

async function ours(url) {
  let handled = 0;
  class Sink {
    handle() {
      handled++;
    }
  }
  const method = Object.getOwnPropertyDescriptor(Sink.prototype, 'handle');
  ShouldQueue({ queue: 'ticks' })(Sink.prototype, 'handle', method);
  OnEvent('tick')(Sink.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Sink);
  Injectable()(Sink);
  const schedules = Array.from({ length: SCHEDULES }, (_, i) => ({
    id: `s${i}`,
    name: 'tick',
    every: EVERY_MS,
  }));
  class AppModule {}
  Module({
    imports: [EventsModule.forRoot({ redis: url, prefix: 'bench-sched', schedules })],
    providers: [Sink],
  })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
  const admin = new Redis(url);
  const perOccurrence = await measure(admin, () => handled);
  await app.close();
  admin.disconnect();
  return perOccurrence;
}

async function bullmq(url) {
  const queue = new Queue('bench-sched', {
    connection: new Redis(url, { maxRetriesPerRequest: null }),
  });
  let handled = 0;
  const worker = new Worker('bench-sched', async () => void handled++, {
    connection: new Redis(url, { maxRetriesPerRequest: null }),
  });
  for (let i = 0; i < SCHEDULES; i++) {
    await queue.upsertJobScheduler(`s${i}`, { every: EVERY_MS }, { name: 'tick', data: {} });
  }
  const admin = new Redis(url);
  const perOccurrence = await measure(admin, () => handled);
  await worker.close();
  await queue.close();
  admin.disconnect();
  return perOccurrence;
}

/** Runs one library in a child process of this file; resolves with its commands per occurrence. */
function child(library, url) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), library, url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.on('exit', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`${library} exited ${code}`)),
    );
  });
}

const [library, url] = process.argv.slice(2);
if (library === 'ours' || library === 'bullmq') {
  const perOccurrence = await (library === 'ours' ? ours(url) : bullmq(url));
  process.stdout.write(`${perOccurrence}\n`);
  process.exit(0);
}

const redis = await startRedis();
try {
  log(`${SCHEDULES} schedules every ${EVERY_MS} ms, ${OCCURRENCES} occurrences per library`);
  const oursPer = await child('ours', redis.url);
  log(`nestjs-events: ${oursPer.toFixed(1)} commands per occurrence`);
  const bullPer = await child('bullmq', redis.url);
  log(`BullMQ: ${bullPer.toFixed(1)} commands per occurrence`);
  const met = oursPer <= bullPer;
  process.stdout.write(
    [
      '## Scheduled events',
      '',
      `${SCHEDULES} schedules every ${EVERY_MS} ms, ${OCCURRENCES} occurrences handled by a queued listener`,
      '(BullMQ: job schedulers and a worker); Redis commands per occurrence, idle polling included.',
      '',
      '| library | commands per occurrence |',
      '| --- | --- |',
      `| nestjs-events | ${oursPer.toFixed(1)} |`,
      `| BullMQ job schedulers | ${bullPer.toFixed(1)} |`,
      '',
      `Target: no more commands per occurrence than BullMQ (ratio ${(oursPer / bullPer).toFixed(2)}): ${met ? 'met' : 'MISSED'}.`,
      '',
    ].join('\n'),
  );
} finally {
  await redis.stop();
}
