import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventStore,
  EventsModule,
  InvalidOptionError,
  InvalidPatternError,
  MemoryEventStore,
  OnEvent,
  ShouldQueue,
  UnserializablePayloadError,
  resolveEventsOptions,
  type EventEnvelope,
  type EventsModuleOptions,
  type StoredEvent,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

class OrderShipped {
  static readonly eventName = 'order.shipped';
  constructor(readonly orderId: string) {}
}

@Injectable()
class Fulfilment {
  readonly shipped: string[] = [];
  readonly sawOwnEventInStore: boolean[] = [];

  constructor(private readonly store: EventStore) {}

  @OnEvent('order.placed')
  @ShouldQueue({ queue: 'fulfilment' })
  async ship(event: EventEnvelope<{ id: string }>): Promise<void> {
    // The job exists only once its event is stored: it must already be in the history.
    let found = false;
    for await (const stored of this.store.readAll({ pattern: 'order.placed' })) {
      if (stored.id === event.id) found = true;
    }
    this.sawOwnEventInStore.push(found);
    this.shipped.push(event.data.id);
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('EventsModule store option: recording emitted events', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const boot = async (options: EventsModuleOptions) => {
    app = await createTestApp({ providers: [Fulfilment] }, options);
    return {
      bus: app.get(EventBus),
      store: app.get(EventStore),
      fulfilment: app.get(Fulfilment),
    };
  };

  it('records every emitted event with its metadata when record is true', async () => {
    const { bus, store } = await boot({ store: { record: true } });
    expect(store).toBeInstanceOf(MemoryEventStore);
    const placed = await bus.emit(
      'order.placed',
      { id: 'o1' },
      { metadata: { streamId: 'order-o1', tenantId: 't1' } },
    );
    await bus.emit('invoice.sent', { id: 'i1' }, { metadata: { aggregateId: 'invoice-i1' } });
    await bus.emit(new OrderShipped('o1'), { metadata: { streamId: 'order-o1' } });
    await bus.emit('audit.tick');

    const all = await collect(store.readAll());
    expect(all.map((e) => [e.position, e.name, e.streamId, e.version])).toEqual([
      [1, 'order.placed', 'order-o1', 1],
      [2, 'invoice.sent', 'invoice-i1', 1],
      [3, 'order.shipped', 'order-o1', 2],
      [4, 'audit.tick', 'audit.tick', 1],
    ]);
    expect(all[0]).toMatchObject({
      id: placed.id,
      timestamp: placed.timestamp,
      data: { id: 'o1' },
      metadata: { streamId: 'order-o1', tenantId: 't1', correlationId: placed.id },
    });
    // Class events come back as instances: the store knows the bus's event classes.
    expect(all[2].data).toBeInstanceOf(OrderShipped);
  });

  it('records only the events matching the record patterns', async () => {
    const { bus, store } = await boot({ store: { record: ['order.**', 'invoice.sent'] } });
    await bus.emit('order.placed', { id: 'o1' });
    await bus.emit('order.item.added', {});
    await bus.emit('invoice.sent', {});
    await bus.emit('invoice.paid', {});
    await bus.emit('user.created', {});
    const names = (await collect(store.readAll())).map((e) => e.name);
    expect(names).toEqual(['order.placed', 'order.item.added', 'invoice.sent']);
  });

  it('records nothing without the option, and still offers an injectable store', async () => {
    const { bus, store } = await boot({});
    await bus.emit('order.placed', { id: 'o1' });
    expect(await store.headPosition()).toBe(0);
    await store.append('manual', [{ name: 'a.b' }]);
    expect(await store.headPosition()).toBe(1);
  });

  it('stores an event before its queued jobs, so a job always finds its event', async () => {
    const { bus, fulfilment } = await boot({ store: { record: true } });
    for (let i = 0; i < 5; i++) await bus.emit('order.placed', { id: `o${i}` });
    await waitFor(() => fulfilment.shipped.length === 5);
    expect(fulfilment.sawOwnEventInStore).toEqual([true, true, true, true, true]);
  });

  it('records every event of emitMany, in item order, before their queued jobs', async () => {
    const { bus, store, fulfilment } = await boot({ store: { record: true } });
    const envelopes = await bus.emitMany(
      Array.from({ length: 5 }, (_, i) => ({ name: 'order.placed', data: { id: `o${i}` } })),
    );
    expect((await collect(store.readAll())).map((e) => e.id)).toEqual(envelopes.map((e) => e.id));
    await waitFor(() => fulfilment.shipped.length === 5);
    expect(fulfilment.sawOwnEventInStore).toEqual([true, true, true, true, true]);
  });

  it('stores no queued job and rejects emit when the event cannot be recorded', async () => {
    class BrokenStore extends MemoryEventStore {
      protected override async write(): Promise<never> {
        throw new Error('disk full');
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot({ store: { record: true } })],
      providers: [Fulfilment],
    })
      .overrideProvider(EventStore)
      .useValue(new BrokenStore())
      .compile();
    app = await moduleRef.init();
    const bus = app.get(EventBus);
    await expect(bus.emit('order.placed', { id: 'o1' })).rejects.toThrow('disk full');
    const counts = await app.get(EventQueues).counts('fulfilment');
    expect(counts.waiting + counts.active + counts.completed + counts.delayed).toBe(0);
    expect(app.get(Fulfilment).shipped).toEqual([]);
  });

  it('refuses an unserializable payload synchronously, before recording or running anything', async () => {
    const { bus, store, fulfilment } = await boot({ store: { record: true } });
    const seen: string[] = [];
    bus.on('order.placed', (e) => {
      seen.push(e.id);
    });
    await expect(bus.emit('order.placed', { id: 'o1', n: () => 10 })).rejects.toBeInstanceOf(
      UnserializablePayloadError,
    );
    expect(seen).toEqual([]);
    expect(await store.headPosition()).toBe(0);
    expect(fulfilment.shipped).toEqual([]);
  });

  it('keeps emit order in positions and versions, even for emits not awaited', async () => {
    const { bus, store } = await boot({ store: { record: ['counter.*'] } });
    const emits = Array.from({ length: 50 }, (_, i) =>
      bus.emit('counter.step', { i }, { metadata: { streamId: 'counter' } }),
    );
    await Promise.all(emits);
    const read = await collect(store.readStream<{ i: number }>('counter'));
    expect(read.map((e) => e.data.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(read.map((e) => e.version)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('uses the streamId option to choose the stream', async () => {
    const { bus, store } = await boot({
      store: { record: true, streamId: (e) => `by-name-${e.name.split('.')[0]}` },
    });
    await bus.emit('order.placed', {});
    await bus.emit('order.paid', {});
    const read: StoredEvent[] = await collect(store.readStream('by-name-order'));
    expect(read.map((e) => e.name)).toEqual(['order.placed', 'order.paid']);
  });

  it('validates the store option', () => {
    const bad: unknown[] = [
      { record: 'yes' },
      { record: [] },
      { postgres: 'mysql://x' },
      { postgres: { schema: 'Bad-Name', connectionString: 'postgres://x' } },
      { postgres: { poolSize: 0, connectionString: 'postgres://x' } },
      { pageSize: 0 },
      { streamId: 'order' },
      { unknown: true },
      'memory',
    ];
    for (const store of bad) {
      expect(() => resolveEventsOptions({ store } as EventsModuleOptions, {})).toThrow(
        InvalidOptionError,
      );
    }
    expect(() => resolveEventsOptions({ store: { record: ['a..b'] } }, {})).toThrow(
      InvalidPatternError,
    );
    expect(resolveEventsOptions({}, {}).store).toMatchObject({ record: false, pageSize: 500 });
    expect(
      resolveEventsOptions({ store: { postgres: 'postgres://u@h/db' } }, {}).store.postgres,
    ).toEqual({ connectionString: 'postgres://u@h/db' });
  });
});
