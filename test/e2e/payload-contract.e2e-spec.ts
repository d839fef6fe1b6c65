import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventReplayer,
  EventStore,
  OnEvent,
  QUEUE_TRANSPORT,
  Replayable,
  ShouldQueue,
  UnserializablePayloadError,
  type EventEnvelope,
  type EventsModuleOptions,
  type StoredEvent,
} from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { createTestApp } from '../support/create-test-app.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from '../support/postgres.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

class InvoiceIssued {
  static readonly eventName = 'invoice.issued';
  constructor(
    readonly invoiceId: string,
    readonly issuedAt: Date,
  ) {}

  get year(): number {
    return this.issuedAt.getUTCFullYear();
  }
}

class Money {
  constructor(readonly cents: number) {}
}

/** What a team puts in events: every type the payload contract promises to carry. */
function typedPayload() {
  return {
    at: new Date(Date.UTC(2024, 5, 10, 8, 30)),
    amount: 12345678901234567890n,
    totals: new Map<string, bigint>([['eur', 1050n]]),
    tags: new Set(['vip', 'eu']),
    samples: new Float64Array([1.5, -2.25]),
    bytes: new Uint8Array([0, 127, 255]),
    file: Buffer.from('%PDF'),
    note: undefined,
    invoice: new InvoiceIssued('i1', new Date(Date.UTC(2023, 0, 1))),
  };
}

type TypedPayload = ReturnType<typeof typedPayload>;

@Injectable()
class PayloadListeners {
  readonly inProcess: EventEnvelope<TypedPayload>[] = [];
  readonly queued: EventEnvelope<TypedPayload>[] = [];
  readonly local: EventEnvelope[] = [];
  readonly invoices: InvoiceIssued[] = [];

  @OnEvent('payload.typed')
  @Replayable()
  seeLocally(event: EventEnvelope<TypedPayload>): void {
    this.inProcess.push(event);
  }

  @OnEvent('payload.typed')
  @ShouldQueue({ queue: 'payload' })
  seeQueued(event: EventEnvelope<TypedPayload>): void {
    this.queued.push(event);
  }

  @OnEvent('payload.dead')
  @ShouldQueue({ queue: 'payload-dead', tries: 1 })
  alwaysFail(): void {
    throw new Error('refused on purpose');
  }

  @OnEvent('payload.local')
  onLocal(event: EventEnvelope): void {
    this.local.push(event);
  }

  // Makes the class known to every process of the app, so nested instances are rebuilt.
  @OnEvent(InvoiceIssued)
  onInvoice(event: EventEnvelope<InvoiceIssued>): void {
    this.invoices.push(event.data);
  }
}

/** The types of `data` checked one by one, so a failure says which type was lost. */
function expectTypes(data: TypedPayload): void {
  expect(data.at).toBeInstanceOf(Date);
  expect(data.at.toISOString()).toBe('2024-06-10T08:30:00.000Z');
  expect(typeof data.amount).toBe('bigint');
  expect(data.totals).toBeInstanceOf(Map);
  expect(data.totals.get('eur')).toBe(1050n);
  expect(data.tags).toBeInstanceOf(Set);
  expect(data.samples).toBeInstanceOf(Float64Array);
  expect(data.bytes).toBeInstanceOf(Uint8Array);
  expect(Buffer.isBuffer(data.file)).toBe(true);
  expect(Object.hasOwn(data, 'note')).toBe(true);
  expect(data.note).toBeUndefined();
  expect(data.invoice).toBeInstanceOf(InvoiceIssued);
  expect(data.invoice.year).toBe(2023);
  expect(data).toStrictEqual(typedPayload());
}

let redis: RedisServer | undefined;
let seq = 0;
const apps: INestApplicationContext[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
afterAll(async () => {
  await redis?.stop();
});

async function boot(options: EventsModuleOptions) {
  const app = await createTestApp({ providers: [PayloadListeners] }, options);
  apps.push(app);
  return { app, bus: app.get(EventBus), listeners: app.get(PayloadListeners) };
}

describe.each<[string, () => EventsModuleOptions]>([
  ['memory', () => ({})],
  ['Redis', () => ({ redis: redis!.url, prefix: `payload-${++seq}` })],
])('one payload contract on the %s transport', (_transport, options) => {
  it('gives a queued listener the same types as an in-process one', async () => {
    const { bus, listeners } = await boot(options());
    await bus.emit('payload.typed', typedPayload());
    await waitFor(() => listeners.queued.length === 1);
    expectTypes(listeners.inProcess[0].data);
    expectTypes(listeners.queued[0].data);
    expect(listeners.queued[0].data).toStrictEqual(listeners.inProcess[0].data);
  });

  it('still runs a job written in the plain-JSON format of 0.1', async () => {
    const { app, listeners } = await boot(options());
    const legacy = JSON.stringify({
      id: 'legacy-1',
      name: 'payload.typed',
      data: { at: '2024-06-10T08:30:00.000Z', amount: 12 },
      metadata: { correlationId: 'legacy-1' },
      timestamp: 1_718_000_000_000,
    });
    const listener = 'PayloadListeners.seeQueued';
    await app
      .get<QueueTransport>(QUEUE_TRANSPORT)
      .enqueue([
        { id: `legacy-1:${listener}`, queue: 'payload', listener, payload: legacy, delayMs: 0 },
      ]);
    await waitFor(() => listeners.queued.length === 1);
    const event = listeners.queued[0] as EventEnvelope;
    expect(event).toMatchObject({ id: 'legacy-1', timestamp: 1_718_000_000_000, attempt: 1 });
    expect(event.data).toEqual({ at: '2024-06-10T08:30:00.000Z', amount: 12 });
  });

  it('shows a dead job back with the types it was emitted with', async () => {
    const { app, bus } = await boot(options());
    await bus.emit('payload.dead', typedPayload());
    const queues = app.get(EventQueues);
    await waitFor(async () => (await queues.listDead('payload-dead')).length === 1);
    const [dead] = await queues.listDead('payload-dead');
    const envelope = dead.payload!;
    expectTypes(envelope.data as TypedPayload);
  });
});

describe('payloads refused on every emit', () => {
  it('refuses a function even when no queued listener matches, and runs nothing', async () => {
    const { bus, listeners } = await boot({});
    expect(bus.listeners('payload.local').every((l) => !l.isQueued)).toBe(true);
    await expect(bus.emit('payload.local', { done: () => 1 })).rejects.toBeInstanceOf(
      UnserializablePayloadError,
    );
    await expect(bus.emit('payload.local', { done: () => 1 })).rejects.toThrow(
      /a function at data\.done/,
    );
    await expect(bus.emitAsync('payload.local', { error: new Error('no') })).rejects.toThrow(
      /an Error .*at data\.error/,
    );
    await expect(bus.until('payload.local', Promise.resolve(1))).rejects.toThrow(/a Promise/);
    await expect(bus.emit('nobody.listens', { tag: Symbol('t') })).rejects.toThrow(/a symbol/);
    expect(listeners.local).toEqual([]);
  });

  it('lets an emit marked inProcessOnly carry anything to in-process listeners', async () => {
    const { bus, listeners } = await boot({});
    const done = () => 1;
    await bus.emit('payload.local', { done, money: new Money(5) }, { inProcessOnly: true });
    expect((listeners.local[0]?.data as { money: unknown }).money).toBeInstanceOf(Money);
    expect(listeners.local).toHaveLength(1);
    expect((listeners.local[0].data as { done: unknown }).done).toBe(done);
    await expect(
      bus.emit('payload.local', {}, { inProcessOnly: 'yes' as unknown as boolean }),
    ).rejects.toThrow(/inProcessOnly/);
  });

  it('still refuses it for a queued listener when marked inProcessOnly', async () => {
    const { bus, listeners } = await boot({});
    await expect(
      bus.emit('payload.typed', { done: () => 1 } as unknown as TypedPayload, {
        inProcessOnly: true,
      }),
    ).rejects.toBeInstanceOf(UnserializablePayloadError);
    expect(listeners.inProcess).toEqual([]);
  });
});

async function expectStoreRoundTrip(options: EventsModuleOptions): Promise<void> {
  const writer = await boot(options);
  await writer.bus.emit('payload.typed', typedPayload(), { metadata: { streamId: 'typed' } });
  const stored: StoredEvent<TypedPayload>[] = [];
  for await (const event of writer.app.get(EventStore).readStream<TypedPayload>('typed')) {
    stored.push(event);
  }
  expect(stored).toHaveLength(1);
  expectTypes(stored[0].data);
  // A replay hands listeners what the live emit did.
  const reader = options.store?.postgres ? await boot(options) : writer;
  reader.listeners.inProcess.length = 0;
  await reader.app.get(EventReplayer).replay({ to: PayloadListeners });
  expect(reader.listeners.inProcess).toHaveLength(1);
  expectTypes(reader.listeners.inProcess[0].data);
}

describe('the event store keeps the types', () => {
  it('in memory: read back and replayed', async () => {
    await expectStoreRoundTrip({ store: { record: ['payload.*'] } });
  });

  describe.skipIf(skipPostgres)('on PostgreSQL', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('read back and replayed by another application', async () => {
      await expectStoreRoundTrip({
        store: { record: ['payload.*'], postgres: { connectionString: database.url } },
      });
    });
  });
});
