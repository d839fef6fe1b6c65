import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class CountingListener {
  readonly runs = new Map<number, number>();
  calls = 0;

  @OnEvent('blip.job')
  @ShouldQueue({ queue: 'blip' })
  handle(event: EventEnvelope<{ n: number }>) {
    this.calls++;
    this.runs.set(event.data.n, (this.runs.get(event.data.n) ?? 0) + 1);
  }
}

let server: RedisServer;
let admin: Redis;
const apps: INestApplicationContext[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** The client ids of the worker's connections: its bookkeeping one and its blocking readers. */
async function workerConnections(prefix: string): Promise<string[]> {
  const list = (await admin.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => /name=\S+:events:(worker|reader:)/.test(line) && line.includes(`${prefix}:`))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
}

/** Kills (CLIENT KILL ID) the worker's connections. */
async function killWorkerConnections(prefix: string): Promise<number> {
  const ids = await workerConnections(prefix);
  for (const id of ids) await admin.client('KILL', 'ID', id);
  return ids.length;
}

describe('Worker: settles survive a connection blip', () => {
  it('runs no handler twice when its connections are killed in the middle of 5,000 fast jobs', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const prefix = `blip-${process.pid}`;
    const total = 5000;
    const producer = await createTestApp(
      { providers: [CountingListener] },
      { redis: server.url, prefix, worker: false },
    );
    apps.push(producer);
    const bus = producer.get(EventBus);
    const emits: Promise<unknown>[] = [];
    for (let n = 0; n < total; n++) emits.push(bus.emit('blip.job', { n }));
    await Promise.all(emits);

    // A short visibility timeout: a lost ack would have its job reclaimed and run again quickly.
    const worker = await createTestApp(
      { providers: [CountingListener] },
      { redis: server.url, prefix, visibilityTimeout: 1500, worker: { concurrency: 20 } },
    );
    apps.push(worker);
    const listener = worker.get(CountingListener);
    for (const at of [1000, 2000, 3000]) {
      // Past `at` jobs, once the last kill's connections are back: the worker runs the jobs it
      // holds (up to its slots and read-ahead) while it reconnects, which may take it past `at`.
      await waitFor(
        async () => listener.calls >= at && (await workerConnections(prefix)).length > 0,
        { timeoutMs: 60_000, intervalMs: 5 },
      );
      expect(await killWorkerConnections(prefix)).toBeGreaterThan(0);
    }
    const queues = producer.get(EventQueues);
    await waitFor(async () => (await queues.counts('blip')).completed === total, {
      timeoutMs: 120_000,
      intervalMs: 50,
      message: 'every job acknowledged',
    });
    // Whatever was still to be reclaimed would show up as a second run: look past a reclaim.
    await waitFor(async () => (await queues.counts('blip')).active === 0, { timeoutMs: 30_000 });
    const twice = [...listener.runs].filter(([, runs]) => runs > 1);
    expect(twice).toEqual([]);
    expect(listener.runs.size).toBe(total);
    expect(await queues.counts('blip')).toMatchObject({ waiting: 0, active: 0, dead: 0 });
  }, 180_000);
});
