import { Controller, Module, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventsClient,
  EventsModule,
  EventsRpcContext,
  EventsServer,
  EventsServerMismatchError,
  InvalidOptionError,
  type EventEnvelope,
  type EventsServerOptions,
} from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

interface Call {
  readonly id: string;
  readonly attempt: number;
  readonly queue: string | undefined;
}

@Controller()
class OrderHandlers {
  readonly calls: Call[] = [];
  failFirst = false;

  @EventPattern<string>('order.created', { queue: 'orders' })
  created(@Payload() _data: unknown, @Ctx() ctx: EventsRpcContext) {
    this.calls.push({ id: ctx.getEvent().id, attempt: ctx.getAttempt(), queue: ctx.getQueue() });
    if (this.failFirst && ctx.getAttempt() === 1) throw new RpcException('first attempt fails');
  }
}

@Controller()
class GatedHandlers {
  running = 0;
  maxRunning = 0;
  readonly reports: string[] = [];
  release: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));

  @EventPattern<string>('report.requested', { queue: 'reports' })
  async report(@Payload() data: { n: number }) {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await this.gate;
    this.running--;
    this.reports.push(String(data.n));
  }

  @EventPattern<string>('archive.requested', { queue: 'archive' })
  archive() {
    this.reports.push('archive');
  }
}

@Module({ controllers: [GatedHandlers] })
class GatedModule {}

/** A worker app the Nest way: no EventsModule, everything in the strategy's options. */
@Module({ controllers: [OrderHandlers] })
class PlainWorkerModule {}

let server: RedisServer;
let seq = 0;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  for (const app of open.splice(0).reverse()) await app.close();
});

function client(prefix: string): EventsClient {
  const c = new EventsClient({ redis: server.url, prefix });
  open.push(c);
  return c;
}

async function microservice(
  module: Type<unknown>,
  options: EventsServerOptions,
): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(module, {
    strategy: new EventsServer(options),
    logger: false,
  });
  open.push(app);
  await app.listen();
  return app;
}

describe('EventsServer configured by its own options', () => {
  it('runs @EventPattern handlers of an app without EventsModule, with its redis, prefix and defaults', async () => {
    const prefix = `solo-${++seq}`;
    const app = await microservice(PlainWorkerModule, {
      redis: server.url,
      prefix,
      concurrency: 2,
      visibilityTimeout: 5000,
      shutdownTimeout: 2000,
      defaults: { tries: 2, backoff: 10 },
    });
    const handlers = app.get(OrderHandlers);
    handlers.failFirst = true;
    const sent = await lastValueFrom(client(prefix).emit<EventEnvelope>('order.created', { n: 1 }));
    await waitFor(() => handlers.calls.length === 2);
    // Two attempts: `defaults.tries` of the strategy applies; the queue is the handler's.
    expect(handlers.calls).toEqual([
      { id: sent.id, attempt: 1, queue: 'orders' },
      { id: sent.id, attempt: 2, queue: 'orders' },
    ]);
    // An event of another prefix is not this server's.
    await lastValueFrom(client(`${prefix}-other`).emit('order.created', { n: 2 }));
    const again = await lastValueFrom(
      client(prefix).emit<EventEnvelope>('order.created', { n: 3 }),
    );
    await waitFor(() => handlers.calls.some((c) => c.id === again.id));
    expect(handlers.calls).toHaveLength(3);
  });

  it('works only on the queues of its options, at their concurrency', async () => {
    const prefix = `solo-${++seq}`;
    const strategy = new EventsServer({
      redis: server.url,
      prefix,
      queues: ['reports'],
      concurrency: { reports: 3 },
    });
    const app = await NestFactory.createMicroservice(GatedModule, { strategy, logger: false });
    open.push(app);
    await app.listen();
    const handlers = app.get(GatedHandlers);
    const events = client(prefix);
    await lastValueFrom(events.emit('archive.requested', {}));
    for (let n = 0; n < 6; n++) await lastValueFrom(events.emit('report.requested', { n }));
    await waitFor(() => handlers.running === 3);
    const transport = strategy.unwrap<QueueTransport>();
    await waitFor(async () => (await transport.counts('archive')).waiting === 1);
    handlers.release();
    await waitFor(() => handlers.reports.length === 6);
    expect(handlers.maxRunning).toBe(3);
    expect(handlers.reports).not.toContain('archive');
  });

  it('refuses to start without a Redis when the app has no EventsModule', async () => {
    const previous = process.env.EVENTS_REDIS_URL;
    delete process.env.EVENTS_REDIS_URL;
    try {
      await expect(microservice(PlainWorkerModule, { prefix: 'none' })).rejects.toThrow(
        /EventsServer\.redis/,
      );
    } finally {
      if (previous !== undefined) process.env.EVENTS_REDIS_URL = previous;
    }
    expect(() => new EventsServer({ prefix: 'bad prefix!' })).toThrow(InvalidOptionError);
    expect(() => new EventsServer({ lateListenerWindow: 0 })).toThrow(/lateListenerWindow/);
  });

  it('fails the boot with EventsServerMismatchError when the app imports EventsModule with other options', async () => {
    const prefix = `both-${++seq}`;
    @Module({
      imports: [EventsModule.forRoot({ redis: server.url, prefix, worker: false })],
      controllers: [OrderHandlers],
    })
    class ModuleWorker {}

    const error = await microservice(ModuleWorker, {
      redis: 'redis://127.0.0.1:1',
      prefix: `${prefix}-x`,
      defaults: { tries: 4 },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EventsServerMismatchError);
    const mismatch = error as EventsServerMismatchError;
    expect(mismatch.code).toBe('EVENTS_SERVER_MISMATCH');
    expect(mismatch.differences.map((d) => d.option)).toEqual([
      'EventsServer.redis',
      'EventsServer.prefix',
      'EventsServer.defaults.tries',
    ]);
    expect(mismatch.message).toContain(`"${prefix}-x" on the server but "${prefix}" in the module`);

    // The same values on both (the same server, named otherwise): the server uses the module's
    // connection and serves.
    const app = await microservice(ModuleWorker, {
      redis: server.url.replace('127.0.0.1', 'localhost'),
      prefix,
    });
    const sent = await lastValueFrom(client(prefix).emit<EventEnvelope>('order.created', {}));
    const handlers = app.get(OrderHandlers);
    await waitFor(() => handlers.calls.some((c) => c.id === sent.id));
  });
});
