import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { EventBus, EventOutbox, OnEvent, type EventEnvelope } from 'nestjs-events';
import { skipPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { useOutboxDatabase } from '../fixtures/use-outbox-database.js';

/** One delivery, and the app whose relay made it. */
type Delivery = { id: string; key: string; seq: number; app: string };

@Injectable()
class Recorder {
  app = '';
  deliveries: Delivery[] = [];

  @OnEvent('item.*')
  onItem(event: EventEnvelope<{ key: string; seq: number }>): void {
    this.deliveries.push({ id: event.id, key: event.data.key, seq: event.data.seq, app: this.app });
  }
}

describe.skipIf(skipPostgres)('transactional outbox: relays and retention', () => {
  const db = useOutboxDatabase({ poolSize: 5 });
  const { count } = db;

  const boot = (outbox: { relay?: boolean; retentionMs?: number; table: string }) =>
    db.boot({ providers: [Recorder] }, { handoffMs: 0, ...outbox });

  it('two relays share 10,000 rows: all delivered, duplicates counted, each key in order', async () => {
    const table = 'relay_share';
    // The writer commits through a transaction of its own (its relay off): only relays deliver.
    const writer = await boot({ table, relay: false });
    const bus = writer.get(EventBus);
    // Four transactions at once, each writing 2,500 rows over 12 ordering keys of its own.
    await Promise.all(
      [0, 1, 2, 3].map(async (lane) => {
        const client = await db.admin.connect();
        try {
          await client.query('BEGIN');
          for (let seq = 0; seq < 2500; seq++) {
            const key = `k${lane}-${seq % 12}`;
            void bus.emit('item.added', { key, seq }, { transaction: client, orderingKey: key });
          }
          await bus.emit(
            'item.added',
            { key: 'last', seq: 10_000 + lane },
            { transaction: client },
          );
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }),
    );
    const shared: Delivery[] = [];
    for (const name of ['a', 'b']) {
      const relay = await boot({ table });
      const recorder = relay.get(Recorder);
      recorder.app = name;
      recorder.deliveries = shared;
    }
    await waitFor(() => new Set(shared.map((d) => d.id)).size === 10_004, { timeoutMs: 60_000 });
    const duplicates = shared.length - new Set(shared.map((d) => d.id)).size;
    console.info(`two relays over 10,004 rows: ${duplicates} duplicate deliveries`);
    expect(duplicates).toBe(0);
    // Both relays took a share.
    expect(new Set(shared.map((d) => d.app))).toEqual(new Set(['a', 'b']));
    const byKey = new Map<string, Delivery[]>();
    for (const d of shared) {
      if (d.key !== 'last') byKey.set(d.key, [...(byKey.get(d.key) ?? []), d]);
    }
    expect(byKey.size).toBe(48);
    for (const deliveries of byKey.values()) {
      const seqs = deliveries.map((d) => d.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
    await waitFor(async () => (await count(`FROM ${table}`)) === 0);
  }, 90_000);

  it('keeps dispatched rows only within retentionMs, and claims through the index at any size', async () => {
    const table = 'retained';
    const app = await boot({ table, retentionMs: 60_000, relay: false });
    // 100,000 events dispatched an hour ago, written directly: their age is what counts.
    await db.admin.query(
      `INSERT INTO ${table} (event_id, name, payload, dispatched_at)
       SELECT 'old-' || i, 'item.added', '{}', now() - interval '1 hour'
         FROM generate_series(1, 100000) AS i`,
    );
    const bus = app.get(EventBus);
    const outbox = app.get(EventOutbox);
    for (let i = 0; i < 20; i++) {
      await outbox.transaction(() => bus.emit('item.added', { key: 'recent', seq: i }));
    }
    await db.admin.query(`ANALYZE ${table}`);
    // The claim reads waiting rows through the partial index, not the 100,000 kept ones.
    const plan = (
      await db.admin.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM ${table}
          WHERE dispatched_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED`,
      )
    ).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(plan).toContain(`${table}_pending`);
    expect(plan).not.toContain('Seq Scan');
    // Dispatched rows are kept (retentionMs) until a relay removes those past it, in batches.
    await waitFor(
      async () => (await count(`FROM ${table} WHERE dispatched_at IS NOT NULL`)) === 100_020,
    );
    await boot({ table, retentionMs: 60_000 });
    await waitFor(async () => (await count(`FROM ${table}`)) === 20, { timeoutMs: 30_000 });
    expect(await count(`FROM ${table} WHERE event_id LIKE 'old-%'`)).toBe(0);
  }, 60_000);
});
