import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  InvalidEventNameError,
  InvalidOptionError,
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
    const errors = busErrors();
    try {
      await expect(bus.emit('order.placed', { n: 2 })).rejects.toBeInstanceOf(TransportError);
      expect(errors).toEqual([expect.stringMatching(/Emit of "order\.placed" \(\w{26}\) failed/)]);
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

  it('refuses an emit after shutdown instead of dropping its job silently', async () => {
    const { app, bus, listeners } = await start();
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    const errors = busErrors();
    await expect(bus.emit('order.placed', {})).rejects.toBeInstanceOf(TransportError);
    expect(listeners.inProcess).toEqual([]);
    expect(errors).toHaveLength(1);
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

describe('the id emit option', () => {
  it('gives the event the caller’s id, in-process and in its queued job', async () => {
    const { bus, listeners } = await start();
    const envelope = await bus.emit('order.placed', { n: 1 }, { id: 'order-o1-placed' });
    expect(envelope.id).toBe('order-o1-placed');
    expect(envelope.metadata.correlationId).toBe('order-o1-placed');
    expect(listeners.inProcess).toEqual(['order-o1-placed']);
    await waitFor(() => listeners.queued.length === 1);
    expect(listeners.queued).toEqual(['order-o1-placed']);
    // A retry with the same id is the same event to whoever keys on it.
    await bus.emit('order.placed', { n: 1 }, { id: 'order-o1-placed' });
    expect(listeners.inProcess).toEqual(['order-o1-placed', 'order-o1-placed']);
  });

  it.each([[''], [' padded'], ['a'.repeat(201)], ['line\nbreak'], [42], [null]])(
    'refuses the id %j with InvalidOptionError, before anything runs',
    async (id) => {
      const { bus, listeners } = await start();
      vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const emitted = bus.emit('order.placed', {}, { id: id as string });
      await expect(emitted).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(emitted).rejects.toMatchObject({ code: 'EVENTS_INVALID_OPTION', option: 'id' });
      expect(listeners.inProcess).toEqual([]);
    },
  );

  it('accepts an id of 200 characters', async () => {
    const { bus } = await start();
    const id = 'x'.repeat(200);
    expect((await bus.emit('order.placed', {}, { id })).id).toBe(id);
  });
});
