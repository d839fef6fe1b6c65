// What the dead-letter benches share: a queued listener that always throws (one attempt, queue
// `dead`, event `bench.dead`), a bounded emit pump, and BullMQ's equivalent fill.
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import { OnEvent, ShouldQueue } from '../dist/index.js';

/** Runs `n` calls of `fn(i)` with at most `window` in flight. */
export async function pump(n, fn, window = 1000) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(window, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Its jobs all die: `bench.dead` on queue `dead`, one attempt. */
export class Failing {
  handle() {
    throw new Error('bench failure');
  }
}
{
  const method = Object.getOwnPropertyDescriptor(Failing.prototype, 'handle');
  ShouldQueue({ queue: 'dead', tries: 1 })(Failing.prototype, 'handle', method);
  OnEvent('bench.dead')(Failing.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Failing);
  Injectable()(Failing);
}

/**
 * A BullMQ queue `name` holding `n` failed jobs, failed the real way (a worker whose processor
 * throws, one attempt); the worker is closed when it resolves.
 */
export async function fillBullFailed(connection, name, n, concurrency) {
  const queue = new Queue(name, { connection });
  let failed = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const worker = new Worker(
    name,
    async () => {
      throw new Error('bench failure');
    },
    { connection, concurrency },
  );
  worker.on('failed', () => {
    if (++failed === n) resolve();
  });
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
  for (let i = 0; i < n; i += 1000) {
    const size = Math.min(1000, n - i);
    await queue.addBulk(
      Array.from({ length: size }, (_, j) => ({
        name: 'job',
        data: { i: i + j },
        opts: { attempts: 1 },
      })),
    );
  }
  await done;
  await worker.close();
  return queue;
}
