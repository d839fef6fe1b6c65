import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Aggregate,
  AggregateRepository,
  EventBus,
  EventContext,
  EventReplayer,
  EventStore,
  InvalidOptionError,
  OnEvent,
  REPLAYABLE,
  Replayable,
  ReplayFailedError,
  ShouldQueue,
  WrongExpectedVersionError,
  type AggregateAppliers,
  type EventEnvelope,
  type ReplayProgress,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

type Line = { sku: string; qty: number };

class OrderShipped {
  static readonly eventName = 'order.shipped';
  constructor(readonly orderId: string) {}
}

/** A read model rebuilt from events: safe to replay. */
@Injectable()
class OrderSummaries {
  orders = new Map<string, { status: string; items: number }>();
  replayedSeen = 0;
  failOn: string | undefined;
  /** The envelope `version` (the event's shape) each shipped event came with. */
  shippedVersions: (number | undefined)[] = [];

  @OnEvent(['order.placed', 'order.item.added', 'order.cancelled'])
  @Replayable()
  project(event: EventEnvelope<{ id: string; line?: Line }>): void {
    if (event.metadata.replayed === 'true') this.replayedSeen++;
    if (this.failOn === event.data.id) throw new Error(`cannot project ${event.data.id}`);
    const current = this.orders.get(event.data.id) ?? { status: 'none', items: 0 };
    if (event.name === 'order.placed')
      this.orders.set(event.data.id, { ...current, status: 'placed' });
    if (event.name === 'order.item.added') {
      this.orders.set(event.data.id, { ...current, items: current.items + event.data.line!.qty });
    }
    if (event.name === 'order.cancelled') {
      this.orders.set(event.data.id, { ...current, status: 'cancelled' });
    }
  }

  @OnEvent(OrderShipped)
  @Replayable()
  shipped(event: EventEnvelope<OrderShipped>): void {
    // Replayed class events are instances again.
    if (!(event.data instanceof OrderShipped)) throw new Error('not rehydrated');
    this.shippedVersions.push(event.version);
    const current = this.orders.get(event.data.orderId)!;
    this.orders.set(event.data.orderId, { ...current, status: 'shipped' });
  }

  snapshot() {
    return [...this.orders.entries()].sort(([a], [b]) => a.localeCompare(b));
  }
}

/** A side effect: must never run on replay unless chosen explicitly. */
@Injectable()
class Mailer {
  readonly sent: string[] = [];

  @OnEvent('order.placed')
  mailConfirmation(event: EventEnvelope<{ id: string }>): void {
    this.sent.push(event.data.id);
  }
}

@Injectable()
class Stats {
  placed = 0;
  items = 0;

  @OnEvent('order.placed')
  countPlaced(): void {
    this.placed++;
  }

  @OnEvent('order.item.added')
  @ShouldQueue({ queue: 'stats' })
  countItems(event: EventEnvelope<{ line: Line }>): void {
    this.items += event.data.line.qty;
  }
}

type CartState = { status: 'empty' | 'open' | 'checked-out'; lines: Line[] };
type CartEvents = {
  'cart.opened': { customer: string };
  'cart.line.added': Line;
  'cart.checked-out': Record<string, never>;
};

class Cart extends Aggregate<CartState, CartEvents> {
  protected initialState(): CartState {
    return { status: 'empty', lines: [] };
  }

  protected readonly apply: AggregateAppliers<CartState, CartEvents> = {
    'cart.opened': (state) => ({ ...state, status: 'open' }),
    'cart.line.added': (state, line) => ({ ...state, lines: [...state.lines, line] }),
    'cart.checked-out': (state) => ({ ...state, status: 'checked-out' }),
  };

  open(customer: string): void {
    if (this.state.status !== 'empty') throw new Error('already open');
    this.raise('cart.opened', { customer });
  }

  add(line: Line): void {
    if (this.state.status !== 'open') throw new Error('cart is not open');
    this.raise('cart.line.added', line);
  }

  checkOut(): void {
    this.raise('cart.checked-out', {});
  }
}

async function placeOrders(bus: EventBus, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = `o${i}`;
    const metadata = { streamId: `order-${id}` };
    await bus.emit('order.placed', { id }, { metadata });
    await bus.emit('order.item.added', { id, line: { sku: 'a', qty: i + 1 } }, { metadata });
    await bus.emit('user.seen', { id });
    if (i % 3 === 0) await bus.emit('order.cancelled', { id }, { metadata });
    else if (i % 3 === 1) await bus.emit(new OrderShipped(id), { metadata });
  }
}

describe('EventReplayer and aggregates', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const boot = async () => {
    app = await createTestApp(
      { providers: [OrderSummaries, Mailer, Stats] },
      { store: { record: true, pageSize: 4 } },
    );
    return {
      bus: app.get(EventBus),
      store: app.get(EventStore),
      replayer: app.get(EventReplayer),
      summaries: app.get(OrderSummaries),
      mailer: app.get(Mailer),
      stats: app.get(Stats),
    };
  };

  it('rebuilds a projection to the state live delivery built, without side effects', async () => {
    const { bus, replayer, summaries, mailer } = await boot();
    await placeOrders(bus, 12);
    const live = summaries.snapshot();
    expect(live).toHaveLength(12);
    expect(mailer.sent).toHaveLength(12);

    summaries.orders = new Map();
    const progress: ReplayProgress[] = [];
    const result = await replayer.replay({
      to: REPLAYABLE,
      onProgress: (p) => progress.push(p),
      progressEvery: 10,
    });
    expect(summaries.snapshot()).toEqual(live);
    expect(mailer.sent).toHaveLength(12);
    expect(summaries.replayedSeen).toBe(result.deliveries - 4 /* shipped() is the other method */);
    // 12 placed, 12 item.added, 4 cancelled, 4 shipped; the 12 user.seen are not read at all.
    expect(result).toMatchObject({ isComplete: true, events: 32, deliveries: 32, checkpoint: 45 });
    expect(progress.map((p) => p.events)).toEqual([10, 20, 30, 32]);
    expect(progress.at(-1)!.headPosition).toBe(44);
    // Replayed envelopes keep the event's shape version, not the stream version of the event.
    expect(summaries.shippedVersions.slice(4)).toEqual(summaries.shippedVersions.slice(0, 4));
  });

  it('delivers only to the listeners chosen by class, method or id', async () => {
    const { bus, replayer, mailer, stats } = await boot();
    await placeOrders(bus, 3);
    await waitFor(() => stats.items === 6);

    await replayer.replay({ to: Mailer });
    expect(mailer.sent).toEqual(['o0', 'o1', 'o2', 'o0', 'o1', 'o2']);
    expect(stats.placed).toBe(3);

    await replayer.replay({ to: Stats.prototype.countPlaced });
    expect(stats.placed).toBe(6);
    expect(stats.items).toBe(6);

    // A queued listener replays directly, not through its queue.
    const result = await replayer.replay({ to: 'Stats.countItems' });
    expect(stats.items).toBe(12);
    expect(result.deliveries).toBe(3);
  });

  it('refuses a replay without a target, or with a target that is not a listener', async () => {
    const { replayer } = await boot();
    await expect(replayer.replay({} as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(replayer.replay({ to: [] })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(replayer.replay({ to: class Nothing {} })).rejects.toThrow(/registered listener/);
    await expect(replayer.replay({ to: 'No.such' })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(replayer.replay({ to: Mailer, streamId: '' })).rejects.toThrow(/stream id/);
  });

  it('stops at a failing listener with a checkpoint, and resumes from it', async () => {
    const { bus, replayer, summaries } = await boot();
    await placeOrders(bus, 6);
    const live = summaries.snapshot();
    summaries.orders = new Map();
    summaries.failOn = 'o4';

    const error = await replayer.replay({ to: OrderSummaries }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplayFailedError);
    const failed = error as ReplayFailedError;
    expect(failed).toMatchObject({
      code: 'EVENTS_REPLAY_FAILED',
      listener: 'OrderSummaries.project',
    });
    expect(summaries.orders.has('o4')).toBe(false);
    expect(summaries.orders.get('o3')).toEqual({ status: 'cancelled', items: 4 });

    summaries.failOn = undefined;
    const resumed = await replayer.replay({
      to: OrderSummaries,
      fromPosition: failed.checkpoint,
    });
    expect(resumed.isComplete).toBe(true);
    expect(summaries.snapshot()).toEqual(live);
  });

  it('filters by stream, pattern and time, and can be stopped with a signal', async () => {
    const { bus, store, replayer, mailer, summaries } = await boot();
    await placeOrders(bus, 4);
    mailer.sent.length = 0;
    await replayer.replay({ to: Mailer, streamId: 'order-o2' });
    expect(mailer.sent).toEqual(['o2']);

    summaries.orders = new Map();
    await replayer.replay({ to: REPLAYABLE, pattern: 'order.cancelled' });
    expect(summaries.snapshot()).toEqual([
      ['o0', { status: 'cancelled', items: 0 }],
      ['o3', { status: 'cancelled', items: 0 }],
    ]);

    // Events emitted in a loop share their milliseconds: these carry one second each, so the
    // window below selects by time alone (inclusive bounds), whatever the machine's speed.
    const base = Date.UTC(2024, 0, 1);
    await store.append(
      'order-timed',
      Array.from({ length: 10 }, (_, i) => ({
        name: 'order.placed',
        data: { id: `t${i}` },
        timestamp: base + i * 1000,
      })),
    );
    mailer.sent.length = 0;
    await replayer.replay({ to: Mailer, since: base + 3000, until: new Date(base + 7000) });
    expect(mailer.sent).toEqual(['t3', 't4', 't5', 't6', 't7']);
    mailer.sent.length = 0;
    await replayer.replay({ to: Mailer, until: new Date(base + 1000) });
    expect(mailer.sent).toEqual(['t0', 't1']);

    const controller = new AbortController();
    mailer.sent.length = 0;
    const stopped = await replayer.replay({
      to: Mailer,
      progressEvery: 1,
      onProgress: (p) => {
        if (p.events === 2) controller.abort();
      },
      signal: controller.signal,
    });
    expect(stopped.isComplete).toBe(false);
    expect(mailer.sent).toEqual(['o0', 'o1']);
    expect(stopped.checkpoint).toBeGreaterThan(1);
  });

  it('folds an aggregate from its stream and saves with optimistic concurrency', async () => {
    const { store } = await boot();
    const repository = app!.get(AggregateRepository);

    const cart = await repository.load(Cart, 'cart-1');
    expect(cart.version).toBe(0);
    cart.open('ada');
    cart.add({ sku: 'a', qty: 2 });
    expect(cart.state.lines).toHaveLength(1);
    await EventContext.run({ tenantId: 't1' }, () => repository.save(cart));
    expect(cart.version).toBe(2);
    expect(cart.uncommittedEvents).toEqual([]);

    const first = await repository.load(Cart, 'cart-1');
    const second = await repository.load(Cart, 'cart-1');
    expect(first.state).toEqual({ status: 'open', lines: [{ sku: 'a', qty: 2 }] });
    first.add({ sku: 'b', qty: 1 });
    second.checkOut();
    await repository.save(first);
    const conflict = await repository.save(second).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(WrongExpectedVersionError);
    expect(conflict).toMatchObject({ expectedVersion: 2, actualVersion: 3 });

    const reloaded = await repository.load(Cart, 'cart-1');
    expect(reloaded.version).toBe(3);
    expect(reloaded.state.lines.map((l) => l.sku)).toEqual(['a', 'b']);
    expect(await repository.save(reloaded)).toBeUndefined();

    const history = [];
    for await (const e of store.readStream('cart-1')) history.push(e);
    expect(history.map((e) => e.name)).toEqual([
      'cart.opened',
      'cart.line.added',
      'cart.line.added',
    ]);
    expect(history[0].metadata).toMatchObject({ tenantId: 't1' });

    // A new stream refuses a second creator: the first save expects no stream.
    const a = await repository.load(Cart, 'cart-2');
    const b = await repository.load(Cart, 'cart-2');
    a.open('x');
    b.open('y');
    await repository.save(a);
    await expect(repository.save(b)).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect(() => new Cart('')).toThrow(/stream id/);
  });
});
