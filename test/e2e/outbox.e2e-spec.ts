import { describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventOutbox,
  EventQueues,
  EventStore,
  InvalidTransactionError,
  ListenersFailedError,
  OutboxNotConfiguredError,
  TransactionRolledBackError,
  UnserializablePayloadError,
  type EventsModuleOptions,
} from 'nestjs-events';
import { OutboxCommitter } from '../../lib/outbox/outbox.committer.js';
import { OutboxDispatcher } from '../../lib/outbox/outbox.dispatcher.js';
import { OutboxMarker } from '../../lib/outbox/outbox.marker.js';
import { createTestApp } from '../support/create-test-app.js';
import { skipPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { useOutboxDatabase } from '../fixtures/use-outbox-database.js';
import { AuditListener, OrderListeners } from '../fixtures/outbox.fixtures.js';

describe.skipIf(skipPostgres)('transactional outbox (embedded transport)', () => {
  const db = useOutboxDatabase({
    setup: async (admin) => {
      await admin.query('CREATE TABLE orders (id text PRIMARY KEY)');
      await admin.query('CREATE TABLE audit (order_id text NOT NULL)');
    },
  });
  const { count } = db;

  const boot = async (
    outbox: Partial<NonNullable<EventsModuleOptions['outbox']>> = {},
    store?: EventsModuleOptions['store'],
  ) => {
    const app = await db.boot({ providers: [OrderListeners, AuditListener] }, outbox, { store });
    return {
      app,
      bus: app.get(EventBus),
      outbox: app.get(EventOutbox),
      orders: app.get(OrderListeners),
      audit: app.get(AuditListener),
    };
  };
  const ids = (events: { data: unknown }[]) => events.map((e) => (e.data as { id: string }).id);

  it('delivers a committed event once, after commit, to in-process and queued listeners', async () => {
    const { bus, outbox, orders, app } = await boot();
    let seenInside = -1;
    let queuedInside = -1;
    await outbox.transaction(async (client) => {
      await client.query('INSERT INTO orders (id) VALUES ($1)', ['c1']);
      // Deep in the call tree, with no client passed down: found through the async context.
      await Promise.resolve().then(() => bus.emit('order.created', { id: 'c1' }));
      seenInside = orders.inProcess.length;
      queuedInside = (await app.get(EventQueues).counts('outbox-orders')).waiting;
    });
    expect(seenInside).toBe(0);
    expect(queuedInside).toBe(0);
    // The committing process dispatched at once: in-process listeners already ran.
    expect(ids(orders.inProcess)).toEqual(['c1']);
    await waitFor(() => orders.queued.length === 1);
    expect(orders.queued[0].id).toBe(orders.inProcess[0].id);
    // Dispatched rows are deleted (no retentionMs).
    await waitFor(async () => (await count('FROM events_outbox')) === 0);
  });

  it('delivers nothing when the callback throws, and rethrows', async () => {
    const { bus, outbox, orders } = await boot();
    const failure = new Error('payment refused');
    await expect(
      outbox.transaction(async (client) => {
        await client.query('INSERT INTO orders (id) VALUES ($1)', ['r1']);
        await bus.emit('order.created', { id: 'r1' });
        throw failure;
      }),
    ).rejects.toBe(failure);
    await outbox.transaction(() => bus.emit('order.created', { id: 'after-r1' }));
    await waitFor(() => orders.queued.length === 1);
    expect(ids(orders.inProcess)).toEqual(['after-r1']);
    expect(ids(orders.queued)).toEqual(['after-r1']);
    expect(await count('FROM orders WHERE id = $1', ['r1'])).toBe(0);
  });

  it('notes each transaction open until it ends, committed or not', async () => {
    const opened = vi.spyOn(OutboxCommitter.prototype, 'opened');
    const closed = vi.spyOn(OutboxCommitter.prototype, 'closed');
    try {
      const { bus, outbox, orders } = await boot();
      let openInside = -1;
      await outbox.transaction(async () => {
        // Nested: joins the outer transaction, not one more open.
        await outbox.transaction(() => bus.emit('order.created', { id: 'o1' }));
        openInside = opened.mock.calls.length - closed.mock.calls.length;
      });
      await expect(
        outbox.transaction(async () => {
          await bus.emit('order.created', { id: 'o2' });
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      await expect(
        outbox.transaction(() => bus.emit('order.created', { id: 'o3', f: () => 1 })),
      ).rejects.toBeInstanceOf(UnserializablePayloadError);
      expect(openInside).toBe(1);
      expect(opened).toHaveBeenCalledTimes(3);
      expect(closed).toHaveBeenCalledTimes(3);
      expect(ids(orders.inProcess)).toEqual(['o1']);
    } finally {
      opened.mockRestore();
      closed.mockRestore();
    }
  });

  it('waits at shutdown for a dispatch in flight, and marks its rows before the pool ends', async () => {
    // The embedded transport's drain at shutdown waits for the emit held below: not 10 s.
    const app = await db.boot(
      { providers: [OrderListeners, AuditListener] },
      {},
      { worker: { shutdownTimeout: 200 } },
    );
    const [bus, outbox, orders] = [
      app.get(EventBus),
      app.get(EventOutbox),
      app.get(OrderListeners),
    ];
    const dispatch = OutboxDispatcher.prototype.dispatch;
    const settled = OutboxCommitter.prototype.settled;
    const drain = OutboxMarker.prototype.drain;
    let entered!: () => void;
    const dispatching = new Promise<void>((resolve) => (entered = resolve));
    let unhold!: () => void;
    const held = new Promise<void>((resolve) => (unhold = resolve));
    let released = false;
    let drainedEarly = false;
    const release = () => {
      released = true;
      unhold();
    };
    const spies = [
      // The dispatch of the commit stays in flight until shutdown asks for it.
      vi.spyOn(OutboxDispatcher.prototype, 'dispatch').mockImplementation(async function (
        this: OutboxDispatcher,
        events,
      ) {
        entered();
        await held;
        return dispatch.call(this, events);
      }),
      vi.spyOn(OutboxCommitter.prototype, 'settled').mockImplementation(function (
        this: OutboxCommitter,
      ) {
        release();
        return settled.call(this);
      }),
      // Draining the marks while the dispatch is still in flight finds none of its marks.
      vi.spyOn(OutboxMarker.prototype, 'drain').mockImplementation(function (this: OutboxMarker) {
        if (!released) {
          drainedEarly = true;
          release();
        }
        return drain.call(this);
      }),
    ];
    try {
      const committed = outbox.transaction(() => bus.emit('order.created', { id: 'sd1' }));
      await dispatching;
      await app.close();
      await committed;
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(drainedEarly).toBe(false);
    expect(ids(orders.inProcess)).toEqual(['sd1']);
    // Marked (deleted) through the outbox's own pool before it ended: no second dispatch later.
    expect(await count('FROM events_outbox')).toBe(0);
  });

  it('joins a nested transaction: its failure rolls the outer one back', async () => {
    const { bus, outbox, orders } = await boot();
    await outbox.transaction(async (outer) => {
      await outbox.transaction(async (inner) => {
        expect(inner).toBe(outer);
        await bus.emit('order.created', { id: 'n1' });
      });
      expect(orders.inProcess).toHaveLength(0);
      await bus.emit('order.created', { id: 'n2' });
    });
    expect(ids(orders.inProcess)).toEqual(['n1', 'n2']);

    const rolledBack = outbox.transaction(async () => {
      await bus.emit('order.created', { id: 'n3' });
      await outbox
        .transaction(() => Promise.reject(new Error('inner failed')))
        .catch(() => undefined);
    });
    await expect(rolledBack).rejects.toBeInstanceOf(TransactionRolledBackError);
    await outbox.transaction(() => bus.emit('order.created', { id: 'n4' }));
    await waitFor(() => orders.queued.length === 3);
    expect(ids(orders.inProcess)).toEqual(['n1', 'n2', 'n4']);
  });

  it('runs afterCommit: false listeners inside the transaction; their throw rolls it back', async () => {
    const { bus, outbox, orders, audit } = await boot();
    await outbox.transaction(async (client) => {
      await client.query('INSERT INTO orders (id) VALUES ($1)', ['a1']);
      await bus.emit('order.created', { id: 'a1' });
      expect(audit.seen).toHaveLength(1);
      expect(orders.inProcess).toHaveLength(0);
    });
    expect(audit.seen[0].hadTransaction).toBe(true);
    expect(await count('FROM audit WHERE order_id = $1', ['a1'])).toBe(1);

    const failed = outbox.transaction(async (client) => {
      await client.query('INSERT INTO orders (id) VALUES ($1)', ['a2']);
      // The emit rejects; even caught, the transaction is rolled back.
      await bus.emit('order.created', { id: 'a2', failAudit: true }).catch(() => undefined);
    });
    const error = await failed.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionRolledBackError);
    expect((error as Error).cause).toBeInstanceOf(ListenersFailedError);
    expect(await count('FROM orders WHERE id = $1', ['a2'])).toBe(0);
    // After commit the listener does not run again; outside a transaction it runs as any.
    await bus.emit('order.created', { id: 'a3' });
    expect(audit.seen.map((s) => [s.event.data.id, s.hadTransaction])).toEqual([
      ['a1', true],
      ['a2', true],
      ['a3', false],
    ]);
    expect(ids(orders.inProcess)).toEqual(['a1', 'a3']);
  });

  it('writes through a transaction the caller manages, delivered once it commits', async () => {
    const { bus, orders } = await boot();
    const client = await db.admin.connect();
    try {
      await client.query('BEGIN');
      await bus.emit('order.created', { id: 'x1' }, { transaction: client });
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await bus.emit('order.created', { id: 'x2' }, { transaction: client });
      expect(orders.inProcess).toHaveLength(0);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // The relay of the writing process takes it as soon as the commit's NOTIFY arrives.
    await waitFor(() => orders.inProcess.length === 1 && orders.queued.length === 1);
    expect(ids(orders.inProcess)).toEqual(['x2']);
    expect(ids(orders.queued)).toEqual(['x2']);
  });

  it('appends recorded events to the PostgreSQL event store in the same transaction', async () => {
    const { bus, outbox, orders, app } = await boot(
      {},
      {
        record: ['order.*'],
        postgres: { connectionString: db.database.url, schema: 'outbox_store' },
      },
    );
    await outbox.transaction(() => bus.emit('order.created', { id: 's1' }));
    await outbox
      .transaction(async () => {
        await bus.emit('order.created', { id: 's2' });
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    const stored: string[] = [];
    for await (const event of app.get(EventStore).readAll<{ id: string }>()) {
      stored.push(event.data.id);
    }
    expect(stored).toEqual(['s1']);
    expect(ids(orders.inProcess)).toEqual(['s1']);
  });

  it('refuses bad input with typed errors, before anything is written', async () => {
    const { bus, outbox } = await boot();
    await expect(
      bus.emit('order.created', { id: 'b1' }, { transaction: { not: 'a client' } }),
    ).rejects.toBeInstanceOf(InvalidTransactionError);
    await expect(
      bus.emit('order.created', { id: 'b2' }, { transaction: db.admin }),
    ).rejects.toBeInstanceOf(InvalidTransactionError);
    await outbox.transaction(async () => {
      await expect(bus.emit('order.created', { id: 'b3', f: () => 1 })).rejects.toBeInstanceOf(
        UnserializablePayloadError,
      );
    });
    expect(await count('FROM events_outbox')).toBe(0);

    const plain = db.track(await createTestApp({ providers: [] }, {}));
    const client = await db.admin.connect();
    try {
      await expect(
        plain.get(EventBus).emit('order.created', {}, { transaction: client }),
      ).rejects.toBeInstanceOf(OutboxNotConfiguredError);
    } finally {
      client.release();
    }
    await expect(plain.get(EventOutbox).transaction(() => 1)).rejects.toBeInstanceOf(
      OutboxNotConfiguredError,
    );
  });

  it('marks a row it cannot read as failed, with its reason, and goes on', async () => {
    const { bus, orders } = await boot({ handoffMs: 0 });
    await db.admin.query(
      `INSERT INTO events_outbox (event_id, name, payload) VALUES ('bad', 'order.created', '{not json')`,
    );
    const client = await db.admin.connect();
    try {
      await client.query('BEGIN');
      await bus.emit('order.created', { id: 'good' }, { transaction: client });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await waitFor(
      async () => (await count('FROM events_outbox WHERE failed_at IS NOT NULL')) === 1,
    );
    await waitFor(() => orders.inProcess.length === 1);
    const failed = await db.admin.query<{ failure: string }>(
      `SELECT failure FROM events_outbox WHERE event_id = 'bad'`,
    );
    expect(failed.rows[0].failure).toMatch(/malformed JSON/);
  });
});
