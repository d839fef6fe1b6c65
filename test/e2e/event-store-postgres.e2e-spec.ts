import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventReplayer,
  EventStore,
  EventStoreError,
  OnEvent,
  PostgresEventStore,
  Replayable,
  type EventEnvelope,
  type StoredEvent,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class Balances {
  readonly byAccount = new Map<string, number>();

  @OnEvent('account.*')
  @Replayable()
  apply(event: EventEnvelope<{ account: string; amount: number }>): void {
    const sign = event.name === 'account.debited' ? -1 : 1;
    const { account, amount } = event.data;
    this.byAccount.set(account, (this.byAccount.get(account) ?? 0) + sign * amount);
  }
}

describe.skipIf(skipPostgres)('event store on PostgreSQL in an application', () => {
  let database: TestDatabase;
  const apps: INestApplicationContext[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  afterAll(async () => {
    await database?.drop();
  });

  const boot = async (schema: string) => {
    const app = await createTestApp(
      { providers: [Balances] },
      { store: { record: ['account.*'], postgres: { connectionString: database.url, schema } } },
    );
    apps.push(app);
    return app;
  };

  it('records emitted events, and another application rebuilds the same state by replay', async () => {
    const writer = await boot('bank');
    expect(writer.get(EventStore)).toBeInstanceOf(PostgresEventStore);
    const bus = writer.get(EventBus);
    for (let i = 0; i < 40; i++) {
      const account = `acc-${i % 4}`;
      await bus.emit(
        i % 3 === 0 ? 'account.debited' : 'account.credited',
        { account, amount: i + 1 },
        { metadata: { streamId: account } },
      );
    }
    await bus.emit('audit.noted', {});
    const live = [...writer.get(Balances).byAccount.entries()].sort();

    // A second application (think: a new replica with an empty read model) replays history.
    const reader = await boot('bank');
    expect(reader.get(Balances).byAccount.size).toBe(0);
    const result = await reader.get(EventReplayer).replay({ to: Balances });
    expect(result.events).toBe(40);
    expect([...reader.get(Balances).byAccount.entries()].sort()).toEqual(live);
    expect(await reader.get(EventStore).streamVersion('acc-1')).toBe(10);
  });

  it('records bursts of emits not awaited in emit order, across streams', async () => {
    const app = await boot('burst');
    const bus = app.get(EventBus);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        bus.emit(
          'account.credited',
          { account: `b${i % 5}`, amount: i },
          {
            metadata: { streamId: `b${i % 5}` },
          },
        ),
      ),
    );
    const store = app.get(EventStore);
    const all: StoredEvent<{ amount: number }>[] = [];
    for await (const e of store.readAll<{ amount: number }>()) all.push(e);
    expect(all.map((e) => e.data.amount)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(all.map((e) => e.position)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (let s = 0; s < 5; s++) {
      const stream: number[] = [];
      for await (const e of store.readStream<{ amount: number }>(`b${s}`)) {
        expect(e.version).toBe(stream.length + 1);
        stream.push(e.data.amount);
      }
      expect(stream).toEqual(Array.from({ length: 40 }, (_, i) => i * 5 + s));
    }
  });

  it('lets another application follow appends live through a subscription', async () => {
    const writer = await boot('follow');
    const reader = await boot('follow');
    const seen: StoredEvent[] = [];
    const subscription = reader
      .get(EventStore)
      .subscribe({ pattern: 'account.credited' }, (event) => {
        seen.push(event);
      });
    await subscription.caughtUp;
    await writer.get(EventBus).emit('account.credited', { account: 'a', amount: 5 });
    await writer.get(EventBus).emit('account.debited', { account: 'a', amount: 1 });
    await writer.get(EventBus).emit('account.credited', { account: 'a', amount: 7 });
    await waitFor(() => seen.length === 2);
    expect(seen.map((e) => (e.data as { amount: number }).amount)).toEqual([5, 7]);
    await subscription.close();
  });

  it('closes its connections with the application', async () => {
    const app = await boot('closing');
    const store = app.get(EventStore);
    await store.append('s', [{ name: 'a.b' }]);
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreError);
  });
});
