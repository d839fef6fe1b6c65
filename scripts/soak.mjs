// Soak: SOAK_EVENTS (default 1,000,000) events through one Redis queue, producer and worker in
// one process, on a private redis-server. Reports the process RSS over the run and Redis memory
// before, at the peak and after processing; exits non-zero if RSS or Redis memory did not settle.
//
//   npm run soak                      (SOAK_EVENTS=200000 npm run soak for a shorter run)
import 'reflect-metadata';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { startRedis } from '../bench/redis-server.js';
import { EventBus, EventQueues, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const TOTAL = Number(process.env.SOAK_EVENTS ?? 1_000_000);
const WINDOW = 2000;
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

const redisServer = await startRedis();
const { url } = redisServer;
const admin = new Redis(url);
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))[1]);

class SoakListener {
  constructor() {
    this.count = 0;
  }
  handle() {
    this.count++;
  }
}
const method = Object.getOwnPropertyDescriptor(SoakListener.prototype, 'handle');
ShouldQueue({ queue: 'soak' })(SoakListener.prototype, 'handle', method);
OnEvent('soak.event')(SoakListener.prototype, 'handle', method);
Reflect.defineMetadata('design:paramtypes', [], SoakListener);
Injectable()(SoakListener);
class SoakModule {}
Module({
  imports: [EventsModule.forRoot({ redis: url, prefix: 'soak', worker: { concurrency: 50 } })],
  providers: [SoakListener],
})(SoakModule);

const app = await NestFactory.createApplicationContext(SoakModule, { logger: ['error'] });
const bus = app.get(EventBus);
const listener = app.get(SoakListener);
const queues = app.get(EventQueues);
globalThis.gc?.();
const baselineRedis = await usedMemory();
const rssStart = process.memoryUsage().rss;
let rssMax = rssStart;
let redisPeak = baselineRedis;
const rssSamples = [];
const started = Date.now();
const sampler = setInterval(async () => {
  const rss = process.memoryUsage().rss;
  rssMax = Math.max(rssMax, rss);
  rssSamples.push(rss);
  redisPeak = Math.max(redisPeak, await usedMemory().catch(() => 0));
  process.stderr.write(
    `[soak] ${listener.count.toLocaleString('en-US')}/${TOTAL.toLocaleString('en-US')} handled, rss ${mb(rss)} MB\n`,
  );
}, 5000);

let next = 0;
await Promise.all(
  Array.from({ length: WINDOW }, async () => {
    while (next < TOTAL) await bus.emit('soak.event', { i: next++, pad: 'x'.repeat(64) });
  }),
);
while (listener.count < TOTAL) await sleep(50);
const seconds = (Date.now() - started) / 1000;
clearInterval(sampler);
globalThis.gc?.();
await sleep(500);
const rssEnd = process.memoryUsage().rss;
const counts = await queues.counts('soak');
const redisAfter = await usedMemory();
// The second half of the run against the first: a leak shows as a rising RSS.
const half = Math.floor(rssSamples.length / 2);
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const firstHalf = avg(rssSamples.slice(0, half));
const secondHalf = avg(rssSamples.slice(half));

const lines = [
  `## Soak: ${TOTAL.toLocaleString('en-US')} events through one Redis queue`,
  '',
  `| measure | value |`,
  `|---|---:|`,
  `| duration | ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds).toLocaleString('en-US')} events/s) |`,
  `| handled | ${listener.count.toLocaleString('en-US')} (completed ${counts.completed}, waiting ${counts.waiting}, active ${counts.active}, dead ${counts.dead}) |`,
  `| process RSS start / max / end | ${mb(rssStart)} / ${mb(rssMax)} / ${mb(rssEnd)} MB |`,
  `| process RSS avg, 1st half / 2nd half | ${mb(firstHalf)} / ${mb(secondHalf)} MB |`,
  `| Redis used_memory baseline / peak / after | ${mb(baselineRedis)} / ${mb(redisPeak)} / ${mb(redisAfter)} MB |`,
  '',
];
process.stdout.write(lines.join('\n'));
await app.close();
admin.disconnect();
redisServer.stop();
const isSettled =
  listener.count === TOTAL &&
  redisAfter - baselineRedis < 5 * 1024 * 1024 &&
  secondHalf < firstHalf * 1.5;
process.exit(isSettled ? 0 : 1);
