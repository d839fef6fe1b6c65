import { Controller, Injectable, type INestMicroservice } from '@nestjs/common';
import {
  ClientsModule,
  Ctx,
  EventPattern,
  MessagePattern,
  Payload,
  RpcException,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventsClient,
  EventsModule,
  EventsRpcContext,
  EventsServer,
  InvalidEventNameError,
  InvalidOptionError,
  OnEvent,
  ShouldQueue,
  UnsupportedRequestError,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { gate, QueueProbe } from '../fixtures/queue-probe.js';

@Controller()
class OrderPatterns {
  constructor(private readonly probe: QueueProbe) {}

  @EventPattern<string>('order.created')
  created(@Payload() _data: unknown, @Ctx() ctx: EventsRpcContext) {
    return this.probe.run('pattern', ctx.getEvent(), {
      signal: ctx.getSignal(),
      attempt: ctx.getAttempt(),
      queue: ctx.getQueue(),
      listener: 'pattern',
    });
  }

  @EventPattern<string>('payment.charge', { queue: 'payments', tries: 3, backoff: 20 })
  charge(@Payload() _data: unknown, @Ctx() ctx: EventsRpcContext) {
    return this.probe.run('charge', ctx.getEvent(), {
      signal: ctx.getSignal(),
      attempt: ctx.getAttempt(),
      queue: ctx.getQueue(),
      listener: 'charge',
    });
  }

  @MessagePattern('order.get')
  get() {
    return 'never served';
  }
}

@Injectable()
class OrderListeners {
  constructor(private readonly probe: QueueProbe) {}

  @OnEvent('order.created')
  @ShouldQueue({ queue: 'emails' })
  confirm(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('emails', event, context);
  }
}

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

/** A producer app that has no listener class: only the client, registered the Nest way. */
async function producer(prefix: string): Promise<ClientProxy> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClientsModule.register([
        { name: 'EVENTS', customClass: EventsClient, options: { redis: server.url, prefix } },
      ]),
    ],
  }).compile();
  const app = await moduleRef.init();
  open.push(app);
  return app.get<ClientProxy>('EVENTS');
}

/** A worker process's app: the events module, the listeners, and an EventsServer. */
async function worker(
  prefix: string,
  strategy = new EventsServer(),
  options: EventsModuleOptions = { redis: server.url },
): Promise<INestMicroservice> {
  const moduleRef = await Test.createTestingModule({
    imports: [EventsModule.forRoot({ ...options, prefix, worker: false })],
    controllers: [OrderPatterns],
    providers: [QueueProbe, OrderListeners],
  }).compile();
  const app = moduleRef.createNestMicroservice({ strategy, logger: false });
  open.push(app);
  await app.listen();
  return app;
}

describe('EventsServer and EventsClient', () => {
  it('handles every event emitted while no worker ran, once a worker starts (unlike pub/sub)', async () => {
    const prefix = `ms-${++seq}`;
    const client = await producer(prefix);
    const sent: EventEnvelope[] = [];
    for (let i = 0; i < 20; i++) {
      sent.push(await lastValueFrom(client.emit<EventEnvelope>('order.created', { i })));
    }
    const app = await worker(prefix, new EventsServer({ concurrency: 4 }));
    const probe = app.get(QueueProbe);
    await waitFor(
      () => probe.callsOf('pattern').length === 20 && probe.callsOf('emails').length === 20,
    );
    const ids = sent.map((e) => e.id).sort();
    expect(
      probe
        .callsOf('pattern')
        .map((c) => c.event.id)
        .sort(),
    ).toEqual(ids);
    expect(
      probe
        .callsOf('emails')
        .map((c) => c.event.id)
        .sort(),
    ).toEqual(ids);
    const first = probe.callsOf('pattern').find((c) => c.event.id === sent[0].id);
    expect(first?.event).toMatchObject({ name: 'order.created', data: { i: 0 } });
    expect(first?.event.metadata.correlationId).toBe(sent[0].id);
    expect(first?.context.queue).toBe('default');
    const queues = app.get(EventQueues);
    await waitFor(async () => (await queues.counts('events.inbound')).completed === 20);
    expect(await queues.counts('events.inbound')).toMatchObject({ waiting: 0, dead: 0 });
  });

  it("applies the worker's tries, backoff and dead letters to @EventPattern handlers", async () => {
    const prefix = `ms-${++seq}`;
    const client = await producer(prefix);
    const app = await worker(prefix);
    const probe = app.get(QueueProbe);
    probe.set('charge', (event, context) => {
      const data = event.data as { ok: boolean };
      // Nest's exception layer hides other errors' messages ("Internal server error").
      if (!data.ok || context.attempt < 3) throw new RpcException(`declined ${context.attempt}`);
    });
    await lastValueFrom(client.emit('payment.charge', { ok: true }));
    await lastValueFrom(client.emit('payment.charge', { ok: false }));
    const queues = app.get(EventQueues);
    await waitFor(async () => {
      const counts = await queues.counts('payments');
      return counts.completed === 1 && counts.dead === 1;
    });
    const calls = probe.callsOf('charge');
    expect(calls).toHaveLength(6);
    const [dead] = await queues.listDead('payments');
    expect(dead).toMatchObject({ listener: 'EventPattern(payment.charge)', attempts: 3 });
    expect(dead.error).toContain('declined 3');
  });

  it('keeps an event no worker listens to waiting in events.inbound, not dead-lettered', async () => {
    const prefix = `ms-${++seq}`;
    const client = await producer(prefix);
    const app = await worker(prefix);
    await lastValueFrom(client.emit('nobody.listens', { n: 1 }));
    const queues = app.get(EventQueues);
    // Fanned out to nobody: put back to wait for a listener (see microservices-fan-out).
    await waitFor(async () => (await queues.counts('events.inbound')).delayed === 1);
    expect(await queues.counts('events.inbound')).toMatchObject({ dead: 0, completed: 0 });
  });

  it('fans out events emitted in the worker app itself to @EventPattern handlers too', async () => {
    const app = await worker(`ms-${++seq}`);
    const envelope = await app.get(EventBus).emit('order.created', { local: true });
    const probe = app.get(QueueProbe);
    await waitFor(() => probe.callsOf('pattern').length === 1);
    expect(probe.callsOf('pattern')[0].event.id).toBe(envelope.id);
  });

  it('works only on the queues given to the server, at the concurrency given to it', async () => {
    const prefix = `ms-${++seq}`;
    const client = await producer(prefix);
    const app = await worker(prefix, new EventsServer({ queues: ['emails'], concurrency: 2 }));
    const probe = app.get(QueueProbe);
    const release = gate();
    probe.set('emails', () => release.promise);
    for (let i = 0; i < 6; i++) await lastValueFrom(client.emit('order.created', { i }));
    await waitFor(() => probe.callsOf('emails').length === 2);
    const queues = app.get(EventQueues);
    await waitFor(async () => (await queues.counts('default')).waiting === 6);
    expect((await queues.counts('emails')).active).toBe(2);
    release.open();
    await waitFor(() => probe.callsOf('emails').length === 6);
    expect(probe.maxRunning('emails')).toBe(2);
    expect(probe.callsOf('pattern')).toHaveLength(0);
  });

  it('refuses send() with a typed error, and bad event names at emit', async () => {
    const client = await producer(`ms-${++seq}`);
    await expect(lastValueFrom(client.send('order.get', {}))).rejects.toBeInstanceOf(
      UnsupportedRequestError,
    );
    await expect(lastValueFrom(client.emit('bad name!', {}))).rejects.toBeInstanceOf(
      InvalidEventNameError,
    );
  });

  it('refuses to start on the embedded transport, or with another Redis than the module', async () => {
    await expect(worker(`ms-${++seq}`, new EventsServer(), {})).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    await expect(
      worker(`ms-${++seq}`, new EventsServer({ redis: 'redis://127.0.0.1:1' })),
    ).rejects.toThrow(/EventsServer\.redis/);
    expect(() => new EventsServer({ concurrency: 0 })).toThrow(InvalidOptionError);
    expect(() => new EventsClient({})).toThrow(/EventsClient\.redis/);
  });
});
