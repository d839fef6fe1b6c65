import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import {
  MAX_RECONNECT_DELAY_MS,
  reconnectDelay,
} from '../../lib/redis/redis-connection.factory.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import {
  compileLibrary,
  killAll,
  startWorkerProcess,
  type WorkerProcess,
} from '../fixtures/processes/worker-processes.js';

/** Counts the starts of each job and holds every handler until the test opens the gate. */
@Injectable()
class HeldListener {
  readonly starts = new Map<string, number>();
  readonly handledAt = new Map<string, number>();
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  isHolding = true;

  release(): void {
    this.isHolding = false;
    this.open();
  }

  @OnEvent('held.job')
  @ShouldQueue({ queue: 'held' })
  async handle(event: EventEnvelope): Promise<void> {
    this.starts.set(event.id, (this.starts.get(event.id) ?? 0) + 1);
    this.handledAt.set(event.id, performance.now());
    if (this.isHolding) await this.gate;
  }
}

/** The producer side of the worker processes' listener (test/fixtures/processes/redis-worker.mjs). */
@Injectable()
class ProcessListener {
  @OnEvent('proc.job')
  @ShouldQueue({ queue: 'procs' })
  handle(): void {}
}

let seq = 0;
const apps: INestApplicationContext[] = [];
const children: WorkerProcess[] = [];

afterEach(async () => {
  killAll(children);
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(options: EventsModuleOptions) {
  const app = await createTestApp({ providers: [HeldListener] }, options);
  apps.push(app);
  return {
    app,
    bus: app.get(EventBus),
    listener: app.get(HeldListener),
    queues: app.get(EventQueues),
  };
}

/** Resolves once `ms` have passed: the length of an outage is the scenario, not a synchronisation. */
async function outageOf(ms: number): Promise<void> {
  const since = Date.now();
  await waitFor(() => Date.now() - since > ms, { timeoutMs: ms + 10_000, intervalMs: 50 });
}

describe('Redis transport: outages in one process', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    server?.resume();
    await server?.stop();
  });

  it('runs every handler exactly once across a Redis freeze longer than visibilityTimeout', async () => {
    const visibilityTimeout = 1000;
    const { bus, listener, queues } = await start({
      redis: server.url,
      prefix: `freeze-${++seq}`,
      visibilityTimeout,
      redisCommandTimeout: 500,
      worker: { concurrency: 10 },
    });
    const sent = await Promise.all(
      Array.from({ length: 10 }, (_, i) => bus.emit('held.job', { i })),
    );
    await waitFor(() => listener.starts.size === sent.length);
    server.pause();
    try {
      await outageOf(3 * visibilityTimeout);
    } finally {
      server.resume();
    }
    // The handlers go on past another visibility timeout after Redis is back.
    await outageOf(2 * visibilityTimeout);
    listener.release();
    await waitFor(async () => (await queues.counts('held')).completed === sent.length, {
      timeoutMs: 20_000,
    });
    expect([...listener.starts.values()]).toEqual(sent.map(() => 1));
    expect(await queues.counts('held')).toMatchObject({ active: 0, waiting: 0, dead: 0 });
  }, 60_000);

  it('starts the first job after a Redis restart within moments of Redis being back', async () => {
    expect(
      Math.max(...Array.from({ length: 200 }, (_, i) => reconnectDelay(1 + (i % 20)))),
    ).toBeLessThanOrEqual(MAX_RECONNECT_DELAY_MS);
    const { bus, listener } = await start({ redis: server.url, prefix: `restart-${++seq}` });
    listener.release();
    const before = await bus.emit('held.job', {});
    await waitFor(() => listener.starts.has(before.id));
    await server.kill();
    await outageOf(2000);
    await server.start();
    const backAt = performance.now();
    // An emit fails fast until the producer's connection is back; the worker's comes back alone.
    let after: EventEnvelope | undefined;
    await waitFor(async () => {
      after = await bus.emit('held.job', {}).catch(() => undefined);
      return after !== undefined;
    });
    const storedAt = performance.now();
    await waitFor(() => listener.handledAt.has(after!.id), { timeoutMs: 15_000 });
    const ranAt = listener.handledAt.get(after!.id)!;
    process.stdout.write(
      `[measure] Redis restart: emit stored ${Math.round(storedAt - backAt)} ms and job started ${Math.round(ranAt - backAt)} ms after Redis was back\n`,
    );
    expect(listener.starts.get(after!.id)).toBe(1);
  }, 60_000);
  it('heartbeats the jobs it holds as soon as its connection is back, not a heartbeat interval later', async () => {
    // Heartbeats every 40 s: only the reconnect can explain one within this test.
    const { bus, listener, app } = await start({
      redis: server.url,
      prefix: `rebeat-${++seq}`,
      visibilityTimeout: 120_000,
    });
    const transport = app.get<QueueTransport>(QUEUE_TRANSPORT);
    const beats: number[] = [];
    const heartbeat = transport.heartbeat.bind(transport);
    transport.heartbeat = (jobs) => {
      beats.push(jobs.length);
      return heartbeat(jobs);
    };
    const held = await bus.emit('held.job', {});
    await waitFor(() => listener.starts.has(held.id));
    await server.kill();
    await outageOf(500);
    beats.length = 0;
    await server.start();
    await waitFor(() => beats.length > 0, { timeoutMs: 15_000 });
    expect(beats[0]).toBe(1);
    listener.release();
  }, 60_000);
});

describe('Redis transport: outages with two worker processes', () => {
  let durable: RedisServer;
  let redis: Redis;
  let lib: string;
  beforeAll(async () => {
    lib = compileLibrary();
    durable = await startRedisServer({ appendOnly: true });
    redis = new Redis(durable.url);
    redis.on('error', () => undefined); // reconnects after the restart of the test
  }, 120_000);
  afterAll(async () => {
    redis?.disconnect();
    durable?.resume();
    await durable?.stop();
  });

  async function worker(prefix: string, visibilityMs: number, handlerMs: number) {
    const w = await startWorkerProcess('./redis-worker.mjs', {
      EVENTS_LIB: lib,
      REDIS_URL: durable.url,
      PREFIX: prefix,
      CONCURRENCY: '10',
      VISIBILITY_MS: String(visibilityMs),
      HANDLER_MS: String(handlerMs),
    });
    children.push(w);
    return w;
  }

  it.each([
    ['frozen (SIGSTOP)', 'freeze'],
    ['restarted with AOF (kill -9)', 'restart'],
  ] as const)(
    'runs every running job exactly once when Redis is %s for longer than visibilityTimeout',
    async (_, how) => {
      const prefix = `two-${how}-${++seq}`;
      // After an outage each worker holds its reclaims for visibilityTimeout, so that every
      // worker heartbeats what it holds first. At 1 s and 2 s, a loaded machine once each kept a
      // worker from heartbeating within it and four jobs ran twice: see the stop notes.
      const visibilityMs = 3000;
      const app = await createTestApp(
        { providers: [ProcessListener] },
        { redis: durable.url, prefix, worker: false },
      );
      apps.push(app);
      const queues = app.get(EventQueues);
      await worker(prefix, visibilityMs, 20_000);
      await worker(prefix, visibilityMs, 20_000);
      const bus = app.get(EventBus);
      const sent = await Promise.all(
        Array.from({ length: 16 }, (_, i) => bus.emit('proc.job', { i })),
      );
      await waitFor(async () => (await redis.llen(`${prefix}:test:started`)) === sent.length, {
        timeoutMs: 20_000,
      });
      if (how === 'freeze') {
        durable.pause();
        try {
          await outageOf(3 * visibilityMs);
        } finally {
          durable.resume();
        }
      } else {
        await durable.kill();
        await outageOf(3 * visibilityMs);
        await durable.start();
      }
      await waitFor(async () => (await redis.llen(`${prefix}:test:done`)) >= sent.length, {
        timeoutMs: 40_000,
      });
      await waitFor(async () => (await queues.counts('procs')).active === 0, {
        timeoutMs: 20_000,
      });
      const started = await redis.lrange(`${prefix}:test:started`, 0, -1);
      // On a failure, what the workers logged (reclaims, failed heartbeats) says who took what.
      expect(started.sort(), children.map((c) => c.output).join('\n')).toEqual(
        sent.map((e) => e.id).sort(),
      );
      expect(await queues.counts('procs')).toMatchObject({ active: 0, waiting: 0, dead: 0 });
    },
    120_000,
  );

  it('keeps the jobs of a worker stalled as Redis comes back, for twice visibilityTimeout', async () => {
    const prefix = `stalled-${++seq}`;
    const visibilityMs = 5000;
    const app = await createTestApp(
      { providers: [ProcessListener] },
      { redis: durable.url, prefix, worker: false },
    );
    apps.push(app);
    const queues = app.get(EventQueues);
    const workers = [
      await worker(prefix, visibilityMs, 20_000),
      await worker(prefix, visibilityMs, 20_000),
    ];
    const bus = app.get(EventBus);
    // 8 jobs for 2 x 10 slots: whatever the split, the other worker has room to take them all.
    const sent = await Promise.all(
      Array.from({ length: 8 }, (_, i) => bus.emit('proc.job', { i })),
    );
    await waitFor(async () => (await redis.llen(`${prefix}:test:started`)) === sent.length, {
      timeoutMs: 20_000,
    });
    const stream = `${prefix}:{${prefix}:procs}:stream`;
    const [, , , holders] = (await redis.xpending(stream, 'workers')) as [
      number,
      string,
      string,
      [string, string][],
    ];
    const held = (w: WorkerProcess) =>
      Number(holders.find(([consumer]) => consumer.includes(`:${w.child.pid}:`))?.[1] ?? 0);
    const stalled = held(workers[0]) >= held(workers[1]) ? workers[0] : workers[1];
    await durable.kill();
    stalled.child.kill('SIGSTOP');
    try {
      await durable.start();
      // Past one timeout (when the other worker could reclaim before), within two.
      await outageOf(1.4 * visibilityMs);
    } finally {
      stalled.child.kill('SIGCONT');
    }
    await waitFor(async () => (await redis.llen(`${prefix}:test:done`)) >= sent.length, {
      timeoutMs: 40_000,
    });
    await waitFor(async () => (await queues.counts('procs')).active === 0, {
      timeoutMs: 20_000,
    });
    const started = await redis.lrange(`${prefix}:test:started`, 0, -1);
    expect(started.sort(), workers.map((w) => w.output).join('\n')).toEqual(
      sent.map((e) => e.id).sort(),
    );
  }, 120_000);
});
