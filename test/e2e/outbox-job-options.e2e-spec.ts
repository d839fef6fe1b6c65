import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  EventOutbox,
  EventQueues,
  InvalidOptionError,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import { skipPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { useOutboxDatabase } from '../fixtures/use-outbox-database.js';

/** A class event that declares its priority. */
class InvoiceDue {
  static readonly eventName = 'invoice.due';
  static readonly priority = 7;
  constructor(readonly tag: string) {}
}

@Injectable()
class RankedListeners {
  /** Tags in the order their jobs started. */
  readonly started: string[] = [];

  @OnEvent('ranked.job')
  @ShouldQueue({ queue: 'outbox-ranked' })
  job(event: EventEnvelope<{ tag: string }>) {
    this.started.push(event.data.tag);
  }

  @OnEvent(InvoiceDue)
  @ShouldQueue({ queue: 'outbox-ranked' })
  invoice(event: EventEnvelope<InvoiceDue>) {
    this.started.push(event.data.tag);
  }

  @OnEvent('tenant.job')
  @ShouldQueue({ queue: 'outbox-tenants', group: () => 'from-selector' })
  tenant() {}
}

/**
 * The emit options that shape queued jobs (`priority`, `group`) are kept with the outbox row and
 * given to the jobs at dispatch, on every path: the committing process, the relay, and a table
 * created before those options were kept.
 */
describe.skipIf(skipPostgres)('outbox: emit options of queued jobs', () => {
  const db = useOutboxDatabase();

  const boot = async (table = 'events_outbox') => {
    const app = await db.boot({ providers: [RankedListeners] }, { table });
    const queues = app.get(EventQueues);
    // Paused: every job is stored before any starts, so the start order is the queue's order.
    await queues.pause('outbox-ranked');
    await queues.pause('outbox-tenants');
    return {
      bus: app.get(EventBus),
      outbox: app.get(EventOutbox),
      queues,
      listeners: app.get(RankedListeners),
    };
  };

  const emitLowThenHigh = async (bus: EventBus, transaction?: unknown) => {
    for (let i = 0; i < 3; i++) {
      await bus.emit('ranked.job', { tag: `low-${i}` }, { transaction });
    }
    await bus.emit('ranked.job', { tag: 'high' }, { priority: 5, transaction });
    await bus.emit(new InvoiceDue('class'), { transaction });
  };

  /** The start order of `emitLowThenHigh`'s jobs: class priority 7, option 5, then emit order. */
  const BY_PRIORITY = ['class', 'high', 'low-0', 'low-1', 'low-2'];

  const startOrder = async (queues: EventQueues, listeners: RankedListeners) => {
    await waitFor(async () => (await queues.counts('outbox-ranked')).waiting === 5);
    await queues.resume('outbox-ranked');
    await waitFor(() => listeners.started.length === 5);
    return listeners.started;
  };

  it('keeps the priority of emits in EventOutbox.transaction (dispatched by the committer)', async () => {
    const { bus, outbox, queues, listeners } = await boot();
    await outbox.transaction(() => emitLowThenHigh(bus));
    expect(await startOrder(queues, listeners)).toEqual(BY_PRIORITY);
  });

  it('keeps the priority of emits in a transaction the caller commits (dispatched by the relay)', async () => {
    const { bus, queues, listeners } = await boot();
    const client = await db.admin.connect();
    try {
      await client.query('BEGIN');
      await emitLowThenHigh(bus, client);
      const { rows } = await client.query<{ priority: number | null }>(
        'SELECT priority FROM events_outbox ORDER BY id',
      );
      expect(rows.map((r) => r.priority)).toEqual([null, null, null, 5, 7]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await startOrder(queues, listeners)).toEqual(BY_PRIORITY);
  });

  it("keeps the emit's group for grouped listeners", async () => {
    const { bus, outbox, queues } = await boot();
    await outbox.transaction(async () => {
      await bus.emit('tenant.job', {}, { group: 'tenant-b' });
      await bus.emit('tenant.job', {});
    });
    await waitFor(async () => (await queues.counts('outbox-tenants')).waiting === 2);
    const groups = await queues.groups('outbox-tenants');
    expect(groups.map((g) => [g.id, g.waiting])).toEqual([
      ['from-selector', 1],
      ['tenant-b', 1],
    ]);
    // Run them, so that closing the app has nothing to drain.
    await queues.resume('outbox-tenants');
    await waitFor(async () => (await queues.counts('outbox-tenants')).completed === 2);
  });

  it('refuses, before the row is written, job options its queued listeners cannot take', async () => {
    const { bus } = await boot();
    const client = await db.admin.connect();
    try {
      await client.query('BEGIN');
      // A priority on a grouped queue, a group longer than 128 bytes.
      await expect(
        Promise.resolve().then(() =>
          bus.emit('tenant.job', {}, { priority: 2, transaction: client }),
        ),
      ).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(
        Promise.resolve().then(() =>
          bus.emit('tenant.job', {}, { group: 'g'.repeat(129), transaction: client }),
        ),
      ).rejects.toMatchObject({ code: 'EVENTS_INVALID_GROUP' });
      const { rows } = await client.query('SELECT id FROM events_outbox');
      expect(rows).toEqual([]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('adds the job option columns to a table created before they existed', async () => {
    await db.admin.query(`CREATE TABLE legacy_outbox (
      id bigserial PRIMARY KEY, event_id text NOT NULL, name text NOT NULL, payload text NOT NULL,
      ordering_key text, delay_ms integer NOT NULL DEFAULT 0, writer text,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(), dispatched_at timestamptz,
      failed_at timestamptz, failure text)`);
    const { bus, outbox, queues, listeners } = await boot('legacy_outbox');
    await outbox.transaction(() => emitLowThenHigh(bus));
    expect(await startOrder(queues, listeners)).toEqual(BY_PRIORITY);
  });
});
