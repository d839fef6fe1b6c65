import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  ShouldQueue,
  TransportError,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import { RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { createTestApp } from '../support/create-test-app.js';
import { CuttingProxy } from '../support/cutting-proxy.js';
import {
  startRedisServer,
  type RedisServer,
  type RedisServerOptions,
} from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

/** One event, two queued listeners on two queues: its emit stores two jobs in one round trip. */
@Injectable()
class TwoQueues {
  readonly handled: string[] = [];

  @OnEvent('promise.*')
  @ShouldQueue({ queue: 'left' })
  left(event: EventEnvelope) {
    this.handled.push(`left ${event.id}`);
  }

  @OnEvent('promise.*')
  @ShouldQueue({ queue: 'right' })
  right(event: EventEnvelope) {
    this.handled.push(`right ${event.id}`);
  }
}

const servers: RedisServer[] = [];
const clients: Redis[] = [];
const proxies: CuttingProxy[] = [];
let app: INestApplicationContext | undefined;
let seq = 0;

afterEach(async () => {
  vi.restoreAllMocks();
  await app?.close();
  app = undefined;
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(options: RedisServerOptions = {}): Promise<RedisServer> {
  const s = await startRedisServer(options);
  servers.push(s);
  return s;
}

function observe(url: string): Redis {
  const client = new Redis(url);
  clients.push(client);
  return client;
}

async function start(options: EventsModuleOptions) {
  app = await createTestApp({ providers: [TwoQueues] }, { prefix: `promise-${++seq}`, ...options });
  return { bus: app.get(EventBus), queues: app.get(EventQueues), listeners: app.get(TwoQueues) };
}

function warnings(spy: { mock: { calls: unknown[][] } }, address: string): string[] {
  return spy.mock.calls.map((c) => String(c[0])).filter((m) => m.includes(address));
}

describe('Redis promises of the README', () => {
  it('warns at start-up about an eviction policy and about persistence off', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    const risky = await server({ maxmemoryPolicy: 'allkeys-lru' });
    await start({ redis: risky.url, worker: false });
    const address = `127.0.0.1:${risky.port}`;
    await waitFor(() => warnings(warn, address).length === 2);
    const [policy, persistence] = warnings(warn, address);
    expect(policy).toMatch(/maxmemory-policy "allkeys-lru"/);
    expect(policy).toMatch(/noeviction/);
    expect(persistence).toMatch(/persistence off/);
  });

  it('says nothing about a Redis with noeviction and the append-only file', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    const safe = await server({ appendOnly: true });
    const observer = observe(safe.url);
    const { queues } = await start({ redis: safe.url, worker: false });
    // The check ends with CONFIG GET on the app's command connection: once the server ran it, a
    // later reply on that connection, then one macrotask, mean its outcome has been logged.
    await waitFor(async () =>
      /cmdstat_config\|get:calls=[1-9]/.test(await observer.info('commandstats')),
    );
    await queues.counts('left');
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings(warn, `127.0.0.1:${safe.port}`)).toEqual([]);
  });

  it('fails an emit with TransportError while Redis is down, buffering nothing, and works again once it is back', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const s = await server();
    const { bus, listeners } = await start({ redis: s.url });
    await s.kill();
    // Settles while Redis is still down: nothing waits for a reconnection.
    await expect(bus.emit('promise.down', {})).rejects.toBeInstanceOf(TransportError);
    await expect(bus.emit('promise.down', {}, { delay: 1000 })).rejects.toBeInstanceOf(
      TransportError,
    );
    await s.start();
    let sent: EventEnvelope | undefined;
    await waitFor(async () => {
      sent = await bus.emit('promise.up', {}).catch((error: unknown) => {
        if (error instanceof TransportError) return undefined;
        throw error;
      });
      return sent !== undefined;
    });
    await waitFor(() => listeners.handled.length === 2, { timeoutMs: 15_000 });
    expect(listeners.handled.sort()).toEqual([`left ${sent!.id}`, `right ${sent!.id}`]);
  });

  it('stores the jobs of one emit all or none when the connection is cut in the middle of it', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const s = await server();
    const proxy = new CuttingProxy(s.port);
    await proxy.start();
    proxies.push(proxy);
    const observer = observe(s.url);
    const prefix = `cut-${++seq}`;
    const { bus } = await start({ redis: proxy.url, prefix, worker: false });
    await bus.emit('promise.warm', {}); // both queues known, connections open
    const keys = new RedisKeys(prefix);
    const stored = async () => ({
      left: await observer.xlen(keys.queue('left').stream),
      right: await observer.xlen(keys.queue('right').stream),
    });
    expect(await stored()).toEqual({ left: 1, right: 1 });

    // Two jobs of ~200 KB each: the cut falls after the first job's command reached Redis whole,
    // in the middle of the second.
    const big = 'x'.repeat(200_000);
    proxy.arm(300_000);
    await expect(bus.emit('promise.cut', { big })).rejects.toBeInstanceOf(TransportError);
    proxy.disarm();
    expect(await stored()).toEqual({ left: 1, right: 1 });
  });
});
