// A nestjs-events process for the fault drills (bench/drills.js): ROLE=worker runs the drill's
// queued listener and prints what it does; ROLE=producer emits what it reads on stdin.
//
// stdout protocol (one line each): READY | START <key> <ms> | END <key> <ms> |
// ABORT <key> <ms> <reason> | EMITTED <key> ok|fail <ms> [ErrorName] | COUNTS <busy>
import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventBus, EventQueues, EventsModule, OnEvent, ShouldQueue } from '../../dist/index.js';

const { REDIS_URL, PREFIX = 'drill', ROLE = 'worker' } = process.env;
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const VISIBILITY_MS = process.env.VISIBILITY_MS ? Number(process.env.VISIBILITY_MS) : undefined;
const say = (line) => process.stdout.write(`${line}\n`);

/** Waits `ms`, or rejects when the attempt's signal aborts (it says so). */
function work(key, ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        const reason = signal.reason;
        say(`ABORT ${key} ${Date.now()} ${String(reason?.name ?? reason?.message ?? reason)}`);
        reject(reason);
      },
      { once: true },
    );
  });
}

class DrillListener {
  async run(event, context) {
    const { key, ms } = event.data;
    say(`START ${key} ${Date.now()}`);
    await work(key, ms, context.signal);
    say(`END ${key} ${Date.now()}`);
  }
}
{
  const method = Object.getOwnPropertyDescriptor(DrillListener.prototype, 'run');
  ShouldQueue({ queue: 'drill', tries: 5 })(DrillListener.prototype, 'run', method);
  OnEvent('drill.job')(DrillListener.prototype, 'run', method);
  Reflect.defineMetadata('design:paramtypes', [], DrillListener);
  Injectable()(DrillListener);
}

class DrillModule {}
Module({
  imports: [
    EventsModule.forRoot({
      redis: REDIS_URL,
      prefix: PREFIX,
      worker: ROLE === 'worker' ? { concurrency: CONCURRENCY } : false,
      ...(VISIBILITY_MS ? { visibilityTimeout: VISIBILITY_MS } : {}),
    }),
  ],
  providers: [DrillListener],
})(DrillModule);

const app = await NestFactory.createApplicationContext(DrillModule, {
  logger: ['error', 'warn'],
});
app.enableShutdownHooks();
if (ROLE === 'producer') {
  const bus = app.get(EventBus);
  const queues = app.get(EventQueues);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, key, ms] = line.trim().split(' ');
    if (command === 'EMIT') {
      bus.emit('drill.job', { key, ms: Number(ms) }).then(
        () => say(`EMITTED ${key} ok ${Date.now()}`),
        (error) => say(`EMITTED ${key} fail ${Date.now()} ${error?.name ?? 'Error'}`),
      );
    } else if (command === 'COUNTS') {
      queues.counts('drill').then(
        (c) => say(`COUNTS ${c.waiting + c.delayed + c.active}`),
        () => say('COUNTS -1'),
      );
    }
  });
}
say('READY');
