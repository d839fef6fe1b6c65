import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  InvalidEventNameError,
  OnEvent,
  ShouldQueue,
  TransportError,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

/** One in-process and one queued listener of the same event. */
@Injectable()
class OrderListeners {
  readonly inProcess: string[] = [];
  readonly queued: string[] = [];
  /** While set, queued handlers wait for it (or for their abort signal). */
  gate: Promise<void> | undefined;

  @OnEvent('order.placed')
  onPlaced(event: EventEnvelope): void {
    this.inProcess.push(event.id);
  }

  @OnEvent('order.placed')
  @ShouldQueue({ queue: 'orders' })
  async confirm(event: EventEnvelope, { signal }: ListenerContext): Promise<void> {
    // A real handler awaits I/O: the worker gets no chance to take the next job synchronously.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.gate) {
      const aborted = new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error)),
      );
      await Promise.race([this.gate, aborted]);
    }
    this.queued.push(event.id);
  }
}

const apps: INestApplicationContext[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(options: Parameters<typeof createTestApp>[1] = {}) {
  const app = await createTestApp({ providers: [OrderListeners] }, options);
  apps.push(app);
  return { app, bus: app.get(EventBus), listeners: app.get(OrderListeners) };
}

/** The messages logged at ERROR by the bus from now on. */
function busErrors(): string[] {
  const errors: string[] = [];
  vi.spyOn(Logger.prototype, 'error').mockImplementation(function (this: Logger, message) {
    errors.push(String(message));
  });
  return errors;
}

describe('fire and forget (in-process part; the process test is fire-and-forget-process)', () => {
  it('logs an un-awaited emit that fails, with its name, and does not reject unhandled', async () => {
    const { bus } = await start();
    const errors = busErrors();
    void bus.emit('order.*', {}); // refused: not an event name
    await waitFor(() => errors.length > 0);
    expect(errors).toEqual([expect.stringMatching(/Emit of "order\.\*" \(no id: .*\) failed/)]);
  });

  it('still rejects an awaited emit with the typed error (and logs it once)', async () => {
    const { bus } = await start();
    const errors = busErrors();
    await expect(bus.emit('order.*', {})).rejects.toBeInstanceOf(InvalidEventNameError);
    expect(errors).toHaveLength(1);
  });
});

describe('all or nothing (Redis)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs no in-process listener when the jobs of the emit cannot be stored', async () => {
    const { bus, listeners } = await start({ redis: server.url, prefix: 'aon-1', worker: false });
    const streamed: string[] = [];
    bus.stream('order.*').subscribe((event) => streamed.push(event.id));
    const stored = await bus.emit('order.placed', { n: 1 });
    // Stored first, then in-process listeners ran, then emit resolved.
    expect(listeners.inProcess).toEqual([stored.id]);
    expect(streamed).toEqual([stored.id]);

    await server.kill();
    try {
      await expect(bus.emit('order.placed', { n: 2 })).rejects.toBeInstanceOf(TransportError);
      // The emit rejected: it had no effect at all, so the caller may simply retry it.
      expect(listeners.inProcess).toEqual([stored.id]);
      expect(streamed).toEqual([stored.id]);
    } finally {
      await server.start();
    }
  });
});

describe('embedded transport at shutdown', () => {
  it('runs the job of every emit that resolved before close', async () => {
    const { app, bus, listeners } = await start({ worker: { concurrency: 1 } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await bus.emit('order.placed', { i })).id);
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    expect(listeners.queued).toEqual(ids);
  });

  it('logs how many jobs it dropped when the shutdown deadline passes', async () => {
    const warnings: string[] = [];
    vi.spyOn(Logger.prototype, 'warn').mockImplementation((message) => {
      warnings.push(String(message));
    });
    const { app, bus, listeners } = await start({
      worker: { concurrency: 1, shutdownTimeout: 50 },
    });
    let open!: () => void;
    listeners.gate = new Promise((resolve) => (open = resolve));
    for (let i = 0; i < 3; i++) await bus.emit('order.placed', { i });
    // The first job holds the only slot until it is aborted: none of the three can finish.
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    open();
    expect(listeners.queued).toEqual([]);
    expect(warnings.join('\n')).toMatch(/3 job\(s\) dropped at shutdown.*"orders": 2 waiting/);
  });
});
