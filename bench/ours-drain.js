// Our side of the queue benches: a no-op queued listener with `queueOptions`, `events` jobs
// stored while its queue is paused (emitMany in chunks of `chunk`), then one worker at
// `concurrency` drains them. `handled(arg)` says how many jobs one handler call covers (a batched
// handler gets an array). `onDrain.before()`/`onDrain.after()` run (awaited) right before the
// drain starts and right after the last job (e.g. to read Redis's INFO commandstats).
// Resolves to jobs per second.
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventBus, EventQueues, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

export async function oursDrain(
  url,
  prefix,
  { events, concurrency, chunk, queueOptions, handled = () => 1, onDrain },
) {
  let count = 0;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  class Sink {
    handle(arg) {
      count += handled(arg);
      if (count === events) resolveDone();
    }
  }
  const method = Object.getOwnPropertyDescriptor(Sink.prototype, 'handle');
  ShouldQueue({ queue: 'bench', ...queueOptions })(Sink.prototype, 'handle', method);
  OnEvent('bench.event')(Sink.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Sink);
  Injectable()(Sink);
  class BenchModule {}
  Module({
    imports: [EventsModule.forRoot({ redis: url, prefix, worker: { concurrency } })],
    providers: [Sink],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  const bus = app.get(EventBus);
  const queues = app.get(EventQueues);
  await queues.pause('bench');
  for (let from = 0; from < events; from += chunk) {
    await bus.emitMany(
      Array.from({ length: chunk }, (_, k) => ({ name: 'bench.event', data: { i: from + k } })),
    );
  }
  await onDrain?.before();
  const startedAt = performance.now();
  await queues.resume('bench');
  await done;
  const seconds = (performance.now() - startedAt) / 1000;
  await onDrain?.after();
  await app.close();
  return events / seconds;
}
