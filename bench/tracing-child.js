// One subject in its own process, for bench/tracing.bench.js. Prints one JSON line on stdout.
//
//   SUBJECT=off|on|nest|bullmq MODE=emit LISTENERS=1 COUNT=100000 ROUNDS=5
//     ns per emit of one event to LISTENERS sync listeners (median of ROUNDS loops of COUNT).
//   SUBJECT=off|on|bullmq MODE=queue EVENTS=20000 CONCURRENCY=10 REDIS_URL=... PREFIX=...
//     events (jobs) per second, emit to handler completion, producer and worker in this process,
//     and the CPU time of this process per event (µs; redis-server's own CPU is not in it). On a
//     loaded machine the rate follows the scheduler; the CPU time per event much less so.
//
// `on`: nestjs-events with `tracing: true` and an OpenTelemetry SDK registered as an app would
// (AsyncLocalStorage context manager, W3C propagator, a BatchSpanProcessor) whose exporter drops
// every span; `off`: `tracing: false`, no SDK. `nest`: @nestjs/event-emitter (wildcard).
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { URL } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule, OnEvent as NestOnEvent } from '@nestjs/event-emitter';
import { Queue, Worker } from 'bullmq';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { EventBus, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const env = process.env;
const SUBJECT = env.SUBJECT;
const MODE = env.MODE ?? 'emit';
const LISTENERS = Number(env.LISTENERS ?? 1);
const COUNT = Number(env.COUNT ?? 100_000);
const ROUNDS = Number(env.ROUNDS ?? 5);
const EVENTS = Number(env.EVENTS ?? 20_000);
const CONCURRENCY = Number(env.CONCURRENCY ?? 10);
const WINDOW = 1000;

if (SUBJECT === 'on') {
  const dropAll = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropAll)] }),
  );
}

let handled = 0;
let target = 0;
let finished;
const hit = () => {
  if (++handled === target) finished();
};

function decorate(Class, decorators) {
  for (const [key, list] of Object.entries(decorators)) {
    const method = Object.getOwnPropertyDescriptor(Class.prototype, key);
    // Applied in the order TypeScript applies stacked decorators (bottom first).
    for (const d of [...list].reverse()) d(Class.prototype, key, method);
  }
  Reflect.defineMetadata('design:paramtypes', [], Class);
  Injectable()(Class);
  return Class;
}

function listenerClass(on, extra = []) {
  const Class = class BenchListeners {};
  const decorators = {};
  for (let i = 0; i < LISTENERS; i++) {
    // A function of its own per method: decorators keep their metadata on it.
    Class.prototype[`l${i}`] = () => hit();
    decorators[`l${i}`] = [on, ...extra];
  }
  return decorate(Class, decorators);
}

async function app(imports, providers) {
  const Root = class BenchModule {};
  Module({ imports, providers })(Root);
  return NestFactory.createApplicationContext(Root, { logger: ['error'] });
}

async function ours(options, queued) {
  const Listeners = queued
    ? listenerClass(OnEvent('bench.event'), [ShouldQueue({ queue: 'bench' })])
    : listenerClass(OnEvent('bench.event'));
  const tracing = SUBJECT === 'on';
  const nest = await app([EventsModule.forRoot({ ...options, tracing })], [Listeners]);
  const bus = nest.get(EventBus);
  return { emit: (i) => bus.emit('bench.event', { i }), close: () => nest.close() };
}

async function nestEmitter() {
  const nest = await app(
    [EventEmitterModule.forRoot({ wildcard: true, maxListeners: 0 })],
    [listenerClass(NestOnEvent('bench.event'))],
  );
  const emitter = nest.get(EventEmitter2);
  return { emit: (i) => emitter.emit('bench.event', { i }), close: () => nest.close() };
}

async function bullmq() {
  const url = new URL(env.REDIS_URL);
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  const name = `${env.PREFIX}-bull`;
  const queue = new Queue(name, { connection });
  const worker = new Worker(name, async () => hit(), { connection, concurrency: CONCURRENCY });
  await worker.waitUntilReady();
  return {
    emit: (i) => queue.add('job', { i }, { removeOnComplete: true, removeOnFail: true }),
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function emitMode() {
  const subject = SUBJECT === 'nest' ? await nestEmitter() : await ours({}, false);
  const loop = () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < COUNT; i++) subject.emit(i);
    return Number(process.hrtime.bigint() - start) / COUNT;
  };
  loop(); // warm-up
  const samples = [];
  for (let r = 0; r < ROUNDS; r++) {
    samples.push(loop());
    await new Promise((resolve) => setImmediate(resolve));
  }
  await subject.close();
  return { ns: median(samples) };
}

async function queueMode() {
  const subject =
    SUBJECT === 'bullmq'
      ? await bullmq()
      : await ours(
          { redis: env.REDIS_URL, prefix: env.PREFIX, worker: { concurrency: CONCURRENCY } },
          true,
        );
  target = EVENTS;
  const done = new Promise((resolve) => (finished = resolve));
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(WINDOW, EVENTS) }, async () => {
      while (next < EVENTS) await subject.emit(next++);
    }),
  );
  await done;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  await subject.close();
  return { rate: EVENTS / seconds, cpuUs: (cpu.user + cpu.system) / EVENTS };
}

const result = MODE === 'queue' ? await queueMode() : await emitMode();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
