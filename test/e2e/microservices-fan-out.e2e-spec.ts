import { Controller, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventQueues,
  EventsClient,
  EventsModule,
  EventsServer,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

/** Listeners of one deploy. */
@Injectable()
class Mailer {
  readonly calls: EventEnvelope[] = [];

  @OnEvent('order.created')
  @ShouldQueue({ queue: 'emails' })
  send(event: EventEnvelope) {
    this.calls.push(event);
  }
}

/** Listeners of another app (or a newer deploy), on a queue of its own and on `default`. */
@Injectable()
class Auditor {
  readonly audited: EventEnvelope[] = [];
  readonly paid: EventEnvelope[] = [];

  @OnEvent('order.*')
  @ShouldQueue({ queue: 'audit' })
  audit(event: EventEnvelope) {
    this.audited.push(event);
  }

  @OnEvent('invoice.paid')
  @ShouldQueue()
  onPaid(event: EventEnvelope) {
    this.paid.push(event);
  }
}

/** A third app whose listener shares the `default` queue with the Auditor's. */
@Injectable()
class Ledger {
  readonly calls: EventEnvelope[] = [];

  @OnEvent('order.created')
  @ShouldQueue()
  book(event: EventEnvelope) {
    this.calls.push(event);
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

function client(prefix: string): EventsClient {
  const c = new EventsClient({ redis: server.url, prefix });
  open.push(c);
  return c;
}

/** A plain worker app: EventsModule with its worker, no EventsServer. */
async function workerApp(prefix: string, providers: Function[]): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      EventsModule.forRoot({ redis: server.url, prefix, worker: { shutdownTimeout: 1000 } }),
    ],
    providers: providers as never[],
  }).compile();
  const app = await moduleRef.init();
  open.push(app);
  return app;
}

async function stop(app: INestApplicationContext): Promise<void> {
  open.splice(open.indexOf(app), 1);
  await app.close();
}

describe('EventsClient events reach every worker app of the prefix', () => {
  it('are handled by a plain worker app (EventsModule, no EventsServer)', async () => {
    const prefix = `fan-${++seq}`;
    const app = await workerApp(prefix, [Mailer]);
    const sent = await lastValueFrom(
      client(prefix).emit<EventEnvelope>('order.created', { id: 'o1' }),
    );
    const mailer = app.get(Mailer);
    await waitFor(() => mailer.calls.length === 1);
    expect(mailer.calls[0]).toMatchObject({ id: sent.id, data: { id: 'o1' }, attempt: 1 });
    const queues = app.get(EventQueues);
    await waitFor(async () => (await queues.counts('events.inbound')).completed === 1);
  });

  it('reach a listener app started after the emit, and an event nobody knows yet waits for it', async () => {
    const prefix = `fan-${++seq}`;
    const a = await workerApp(prefix, [Mailer]);
    const events = client(prefix);
    const created = await lastValueFrom(events.emit<EventEnvelope>('order.created', { id: 'o2' }));
    const paid = await lastValueFrom(events.emit<EventEnvelope>('invoice.paid', { id: 'i2' }));
    await waitFor(() => a.get(Mailer).calls.length === 1);
    // No app listens to invoice.paid yet: the event is put back to wait, not dead-lettered.
    const queues = a.get(EventQueues);
    await waitFor(async () => (await queues.counts('events.inbound')).delayed === 1);
    expect(await queues.counts('events.inbound')).toMatchObject({ dead: 0 });

    // A newer deploy brings the Auditor: it gets the event fanned out before it existed, and
    // the one that waited.
    const b = await workerApp(prefix, [Auditor]);
    const auditor = b.get(Auditor);
    await waitFor(() => auditor.audited.length === 1 && auditor.paid.length === 1);
    expect(auditor.audited[0].id).toBe(created.id);
    expect(auditor.paid[0].id).toBe(paid.id);
    await waitFor(async () => (await queues.counts('events.inbound')).completed === 2);
    expect(a.get(Mailer).calls).toHaveLength(1);
    expect(await queues.counts('events.inbound')).toMatchObject({ dead: 0, delayed: 0 });
  });

  it('leave a job of another app on a shared queue to that app, instead of dead-lettering it', async () => {
    const prefix = `fan-${++seq}`;
    // The Ledger app registers its listener (queue `default`), then is down for a while.
    await stop(await workerApp(prefix, [Ledger]));
    const a = await workerApp(prefix, [Auditor]);
    const sent = await lastValueFrom(client(prefix).emit<EventEnvelope>('order.created', {}));
    await waitFor(() => a.get(Auditor).audited.length === 1);
    // The Auditor app works `default` too: it took the Ledger's job and put it back.
    const queues = a.get(EventQueues);
    await waitFor(async () => (await queues.counts('default')).delayed === 1);
    const ledger = await workerApp(prefix, [Ledger]);
    await waitFor(() => ledger.get(Ledger).calls.length === 1);
    expect(ledger.get(Ledger).calls[0].id).toBe(sent.id);
    expect(await queues.counts('default')).toMatchObject({ dead: 0 });
  });

  it('reach the same @EventPattern in every app that handles it, when each server has a name', async () => {
    const calls: string[] = [];
    @Controller()
    class Billing {
      @EventPattern<string>('order.paid')
      paid(_data: unknown) {
        calls.push('billing');
      }
    }
    @Controller()
    class Mailing {
      @EventPattern<string>('order.paid')
      paid(_data: unknown) {
        calls.push('mailing');
      }
    }
    @Module({ controllers: [Billing] })
    class BillingApp {}
    @Module({ controllers: [Mailing] })
    class MailingApp {}
    const prefix = `fan-${++seq}`;
    for (const [module, name] of [
      [BillingApp, 'billing'],
      [MailingApp, 'mailing'],
    ] as const) {
      const strategy = new EventsServer({ redis: server.url, prefix, name });
      const app = await NestFactory.createMicroservice(module, { strategy, logger: false });
      open.push(app);
      await app.listen();
    }
    // Both handlers share the `default` queue: each app leaves the other's job to it.
    await lastValueFrom(client(prefix).emit('order.paid', {}));
    await waitFor(() => calls.length === 2);
    expect(calls.sort()).toEqual(['billing', 'mailing']);
  });

  it('dead-letters an event that no listener registered for within lateListenerWindow', async () => {
    @Controller()
    class Patterns {
      @EventPattern<string>('order.created')
      created(_data: unknown) {}
    }
    @Module({ controllers: [Patterns] })
    class PatternModule {}
    const prefix = `fan-${++seq}`;
    const strategy = new EventsServer({ redis: server.url, prefix, lateListenerWindow: 1000 });
    const app = await NestFactory.createMicroservice(PatternModule, { strategy, logger: false });
    open.push(app);
    await app.listen();
    const sent = await lastValueFrom(client(prefix).emit<EventEnvelope>('nobody.listens', {}));
    const transport = strategy.unwrap<QueueTransport>();
    await waitFor(async () => (await transport.counts('events.inbound')).dead === 1);
    const [dead] = await transport.listDead('events.inbound', 0, 10);
    expect(dead.reason).toBe('unrecoverable');
    expect(dead.error).toContain('"nobody.listens" within 1000 ms');
    expect(dead.failedAt - sent.timestamp).toBeGreaterThanOrEqual(1000);
  });
});
