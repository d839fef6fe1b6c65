import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EmitOutcomeUnknownError,
  EventBus,
  OnEvent,
  ShouldQueue,
  TransportError,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import { RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { createTestApp } from '../support/create-test-app.js';
import { CuttingProxy } from '../support/cutting-proxy.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

/** Queued listeners on two queues; counts each event's runs per queue. */
@Injectable()
class Counted {
  readonly runs = new Map<string, number>();

  @OnEvent('retry.*')
  @ShouldQueue({ queue: 'left' })
  left(event: EventEnvelope) {
    this.count(`left ${event.id}`);
  }

  @OnEvent('retry.both')
  @ShouldQueue({ queue: 'right' })
  right(event: EventEnvelope) {
    this.count(`right ${event.id}`);
  }

  private count(key: string): void {
    this.runs.set(key, (this.runs.get(key) ?? 0) + 1);
  }
}

const apps: INestApplicationContext[] = [];
const servers: RedisServer[] = [];
const proxies: CuttingProxy[] = [];
const clients: Redis[] = [];
let seq = 0;

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(options: EventsModuleOptions) {
  const app = await createTestApp(
    { providers: [Counted] },
    { worker: { concurrency: 1 }, ...options },
  );
  apps.push(app);
  return { bus: app.get(EventBus), counted: app.get(Counted) };
}

async function server(): Promise<RedisServer> {
  const s = await startRedisServer();
  servers.push(s);
  return s;
}

function observe(url: string): Redis {
  const client = new Redis(url);
  clients.push(client);
  return client;
}

/** Emits `retry.left` with a fresh id and waits for its job: every job emitted before ran. */
async function sentinel(bus: EventBus, counted: Counted): Promise<void> {
  const { id } = await bus.emit('retry.left', {});
  await waitFor(() => counted.runs.get(`left ${id}`) === 1, { timeoutMs: 15_000 });
}

describe.each([
  ['memory', async () => ({})],
  ['redis', async () => ({ redis: (await server()).url, prefix: `dedupe-${++seq}` })],
] as const)('re-emitting with the same id (%s transport)', (_kind, transport) => {
  it('stores the job once within dedupeWindowMs: one run', async () => {
    const { bus, counted } = await start(await transport());
    await bus.emit('retry.left', { n: 1 }, { id: 'order-1' });
    await bus.emit('retry.left', { n: 1 }, { id: 'order-1' });
    await bus.emit('retry.both', { n: 2 }, { id: 'order-2' });
    await bus.emit('retry.both', { n: 2 }, { id: 'order-2' });
    await sentinel(bus, counted);
    await waitFor(() => counted.runs.get('right order-2') === 1);
    expect(counted.runs.get('left order-1')).toBe(1);
    expect(counted.runs.get('left order-2')).toBe(1);
    expect(counted.runs.get('right order-2')).toBe(1);
  });

  it('stores it again once the window has passed', async () => {
    const { bus, counted } = await start({ ...(await transport()), dedupeWindowMs: 200 });
    await bus.emit('retry.left', {}, { id: 'order-3' });
    await waitFor(() => counted.runs.get('left order-3') === 1);
    // Expiry is what is tested here: waiting past the window is the point, not a synchronisation.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await bus.emit('retry.left', {}, { id: 'order-3' });
    await waitFor(() => counted.runs.get('left order-3') === 2);
  });

  it('still stores every emit without an id', async () => {
    const { bus, counted } = await start(await transport());
    const { id } = await bus.emit('retry.left', {});
    await waitFor(() => counted.runs.get(`left ${id}`) === 1);
    await bus.emit('retry.left', {});
    await waitFor(() => counted.runs.size === 2);
  });
});

describe('an emit that fails on Redis', () => {
  it('is a TransportError naming the address and since when Redis is unreachable', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const s = await server();
    const { bus } = await start({ redis: s.url, prefix: `down-${++seq}`, worker: false });
    await bus.emit('retry.left', {});
    const before = Date.now();
    await s.kill();
    let error: unknown;
    // An emit sent just as the connection drops has an unknown outcome; once the client knows
    // the connection is down, nothing is sent.
    await waitFor(async () => {
      error = await bus.emit('retry.both', {}, { id: 'down-1' }).catch((e: unknown) => e);
      return error instanceof TransportError && !(error instanceof EmitOutcomeUnknownError);
    });
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(`Redis unreachable at 127\\.0\\.0\\.1:${s.port} since \\d{4}-\\d\\d-\\d\\dT`),
    );
    expect(message).toMatch(/nothing was stored/);
    expect(message).not.toMatch(/max retries per request/);
    const since = Date.parse(/since (\S+)/.exec(message)![1]);
    expect(since).toBeGreaterThanOrEqual(before - 1000);
  });

  it('with its reply lost is EmitOutcomeUnknownError with the event id; retrying with that id runs each job once', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const s = await server();
    const proxy = new CuttingProxy(s.port);
    await proxy.start();
    proxies.push(proxy);
    const prefix = `lost-${++seq}`;
    const { bus } = await start({ redis: proxy.url, prefix, worker: false });
    await bus.emit('retry.left', {}, { id: 'warm' });
    const observer = observe(s.url);
    const stream = new RedisKeys(prefix).queue('left').stream;

    // A burst of 40 emits of ~2 KB each, in two ticks (one store script call each): the cut falls
    // in the middle of the second call, after the first reached Redis whole (stored, its reply
    // lost) and before the second was whole (not stored).
    const data = { pad: 'x'.repeat(2000) };
    const ids = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const emitOne = (id: string) =>
      bus.emit('retry.left', data, { id }).then(
        () => undefined,
        (e: unknown) => e,
      );
    proxy.arm(63_000);
    const first = ids.slice(0, 20).map(emitOne);
    await new Promise((resolve) => setImmediate(resolve));
    const outcomes = await Promise.all([...first, ...ids.slice(20).map(emitOne)]);
    proxy.disarm();
    const unknown = outcomes.filter((e) => e instanceof EmitOutcomeUnknownError);
    expect(unknown.length).toBeGreaterThan(0);
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === undefined) continue;
      expect(outcome).toBeInstanceOf(EmitOutcomeUnknownError);
      expect((outcome as EmitOutcomeUnknownError).eventId).toBe(ids[i]);
      expect((outcome as Error).message).not.toMatch(/max retries per request/);
    }
    const storedBeforeRetry = (await observer.xlen(stream)) - 1;
    // Some of the emits that reported an unknown outcome were in fact stored.
    expect(storedBeforeRetry).toBeGreaterThan(40 - unknown.length);

    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === undefined) continue;
      await waitFor(async () =>
        bus.emit('retry.left', data, { id: ids[i] }).then(
          () => true,
          (e: unknown) => {
            if (e instanceof TransportError) return false;
            throw e;
          },
        ),
      );
    }
    expect(await observer.xlen(stream)).toBe(41);

    const worker = await start({ redis: s.url, prefix });
    await waitFor(() => worker.counted.runs.size === 41, { timeoutMs: 15_000 });
    await sentinel(worker.bus, worker.counted);
    for (const id of ids) expect(worker.counted.runs.get(`left ${id}`)).toBe(1);
  });
});

describe('a multi-job emit on Redis', () => {
  it('stores nothing when one queue refuses its job (WRONGTYPE)', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const s = await server();
    const prefix = `wrongtype-${++seq}`;
    const { bus } = await start({ redis: s.url, prefix, worker: false });
    await bus.emit('retry.both', {});
    const keys = new RedisKeys(prefix);
    const observer = observe(s.url);
    await observer.del(keys.queue('left').stream);
    await observer.set(keys.queue('left').stream, 'not a stream');

    const emitted = bus.emit('retry.both', {});
    await expect(emitted).rejects.toBeInstanceOf(TransportError);
    await expect(emitted).rejects.not.toBeInstanceOf(EmitOutcomeUnknownError);
    await expect(emitted).rejects.toThrow(/WRONGTYPE/);
    expect(await observer.xlen(keys.queue('right').stream)).toBe(1);
    expect(await observer.get(keys.queue('left').stream)).toBe('not a stream');
  });
});
