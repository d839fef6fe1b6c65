import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  ShouldQueue,
  TransportError,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import { RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

interface Handled {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly at: number;
  readonly data: unknown;
}

@Injectable()
class FaultRecorder {
  readonly handled: Handled[] = [];
  readonly failedAt: number[] = [];

  @OnEvent('fault.*')
  @ShouldQueue({ queue: 'faults', tries: 3, backoff: 1500 })
  handle(event: EventEnvelope<{ failOnce?: boolean }>, context: ListenerContext): void {
    if (event.data?.failOnce && context.attempt === 1) {
      this.failedAt.push(Date.now());
      throw new Error('the first attempt fails');
    }
    this.handled.push({
      id: event.id,
      name: event.name,
      attempt: context.attempt,
      at: Date.now(),
      data: event.data,
    });
  }
}

let server: RedisServer;
let redis: Redis;
let seq = 0;
const apps: INestApplicationContext[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(options: EventsModuleOptions) {
  const app = await createTestApp({ providers: [FaultRecorder] }, options);
  apps.push(app);
  return {
    app,
    bus: app.get(EventBus),
    recorder: app.get(FaultRecorder),
    queues: app.get(EventQueues),
  };
}

function ids(handled: readonly Handled[]): string[] {
  return handled.map((h) => h.id);
}

describe('Redis transport: faults', () => {
  it('dead-letters poison entries with a reason, keeps working and pollutes no prototype', async () => {
    const prefix = `poison-${++seq}`;
    const { bus, recorder, queues } = await start({ redis: server.url, prefix });
    const stream = new RedisKeys(prefix).queue('faults').stream;
    const envelope = (extra: string) =>
      `{"id":"e1","name":"fault.x","data":{},"metadata":{},"timestamp":1${extra}}`;
    await redis.xadd(stream, '*', 'id', 'p-json', 'l', 'FaultRecorder.handle', 'p', '{not json');
    await redis.xadd(stream, '*', 'id', 'p-listener', 'l', 'Nobody.handle', 'p', envelope(''));
    await redis.xadd(
      stream,
      '*',
      'id',
      'p-proto',
      'l',
      'FaultRecorder.handle',
      'p',
      '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
    );
    await redis.xadd(stream, '*', '__proto__', 'x', 'garbage', 'y');
    await waitFor(async () => (await queues.counts('faults')).dead === 4);
    const dead = await queues.listDead('faults');
    expect(dead.map((d) => [d.id, d.reason])).toEqual([
      ['p-json', 'malformed'],
      ['p-listener', 'unknown-listener'],
      ['p-proto', 'malformed'],
      [expect.stringMatching(/^\d+-\d+$/), 'malformed'],
    ]);
    expect(dead[0].error).toMatch(/JSON/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');

    // A payload whose data carries __proto__ is handled without it reaching an object.
    await redis.xadd(
      stream,
      '*',
      'id',
      'p-data',
      'l',
      'FaultRecorder.handle',
      'p',
      envelope('').replace('"data":{}', '"data":{"__proto__":{"polluted":"yes"},"ok":1}'),
    );
    const sent = await bus.emit('fault.after', { n: 1 });
    await waitFor(() => recorder.handled.length === 2);
    expect(ids(recorder.handled)).toEqual(['e1', sent.id]);
    expect(recorder.handled[0].data).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The handler ran; its acknowledgement follows in the background.
    await waitFor(async () => (await queues.counts('faults')).completed === 2);
    expect(await queues.counts('faults')).toMatchObject({ dead: 4, completed: 2, failed: 0 });
  });

  it('keeps two prefixes on one Redis apart', async () => {
    const a = await start({ redis: server.url, prefix: `iso-a-${++seq}` });
    const b = await start({ redis: server.url, prefix: `iso-b-${seq}` });
    const sentA = await Promise.all([1, 2, 3].map((n) => a.bus.emit('fault.a', { n })));
    const sentB = await Promise.all([1, 2].map((n) => b.bus.emit('fault.b', { n })));
    await waitFor(() => a.recorder.handled.length === 3 && b.recorder.handled.length === 2);
    expect(ids(a.recorder.handled).sort()).toEqual(sentA.map((e) => e.id).sort());
    expect(ids(b.recorder.handled).sort()).toEqual(sentB.map((e) => e.id).sort());
    expect((await a.queues.counts('faults')).completed).toBe(3);
    expect((await b.queues.counts('faults')).completed).toBe(2);
  });

  it('fires delayed events and scheduled retries, never early, after an application restart', async () => {
    const prefix = `restart-${++seq}`;
    const first = await start({ redis: server.url, prefix });
    const delayed = await first.bus.emit('fault.delayed', { n: 1 }, { delay: 1500 });
    const retried = await first.bus.emit('fault.retried', { failOnce: true });
    await waitFor(async () => (await first.queues.counts('faults')).failed === 1);
    const retryDue = first.recorder.failedAt[0] + 1500;
    expect(await first.queues.counts('faults')).toMatchObject({ delayed: 2, completed: 0 });
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);

    const second = await start({ redis: server.url, prefix });
    await waitFor(() => second.recorder.handled.length === 2, { timeoutMs: 10_000 });
    const byId = new Map(second.recorder.handled.map((h) => [h.id, h]));
    const d = byId.get(delayed.id);
    const r = byId.get(retried.id);
    expect(d?.at).toBeGreaterThanOrEqual(delayed.timestamp + 1500);
    expect(r?.attempt).toBe(2);
    expect(r?.at).toBeGreaterThanOrEqual(retryDue);
    expect(await second.queues.counts('faults')).toMatchObject({ delayed: 0, completed: 2 });
  });

  it('recreates a lost consumer group after Redis restarted without its data, and resumes', async () => {
    const prefix = `nogroup-${++seq}`;
    const { bus, recorder } = await start({ redis: server.url, prefix });
    await bus.emit('fault.before', {});
    await waitFor(() => recorder.handled.length === 1);
    await server.kill();
    await server.start();
    // emit fails fast while the producer reconnects; it never buffers.
    let after: EventEnvelope | undefined;
    await waitFor(async () => {
      after = await bus.emit('fault.after', {}).catch((error: unknown) => {
        if (error instanceof TransportError) return undefined;
        throw error;
      });
      return after !== undefined;
    });
    await waitFor(() => recorder.handled.length === 2, { timeoutMs: 15_000 });
    expect(recorder.handled[1].id).toBe(after?.id);
  });

  it('uses an existing ioredis client as a template and leaves it open on shutdown', async () => {
    const client = new Redis(server.url);
    try {
      const { app, bus, recorder } = await start({
        redis: client as unknown as Record<string, unknown>,
        prefix: `client-${++seq}`,
      });
      await bus.emit('fault.client', {});
      await waitFor(() => recorder.handled.length === 1);
      await app.close();
      apps.splice(apps.indexOf(app), 1);
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});

describe('Redis transport: restart with AOF', () => {
  let durable: RedisServer;
  beforeAll(async () => {
    durable = await startRedisServer({ appendOnly: true });
  });
  afterAll(async () => {
    await durable?.stop();
  });

  it('handles every event whose emit resolved across a Redis restart', async () => {
    // A read in flight when Redis dies may leave an entry delivered but unseen: it is reclaimed
    // after the visibility timeout, so keep that short here.
    const { bus, recorder } = await start({
      redis: durable.url,
      prefix: `aof-${++seq}`,
      visibilityTimeout: 1000,
    });
    const resolved = new Set<string>();

    let isRunning = true;
    const producer = (async () => {
      for (let i = 0; isRunning; i++) {
        try {
          resolved.add((await bus.emit('fault.aof', { i })).id);
        } catch (error) {
          if (!(error instanceof TransportError)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 5)); // pace retries while down
        }
      }
    })();
    await waitFor(() => resolved.size >= 100);
    await durable.kill();
    await durable.start();
    const atRestart = resolved.size;
    await waitFor(() => resolved.size >= atRestart + 100, { timeoutMs: 15_000 });
    isRunning = false;
    await producer;
    const missing = (): string[] => {
      const handled = new Set(ids(recorder.handled));
      return [...resolved].filter((id) => !handled.has(id));
    };
    await waitFor(() => missing().length === 0, { timeoutMs: 15_000 }).catch(() => undefined);
    expect(missing()).toEqual([]);
  });
});
