import type { INestApplicationContext, Provider } from '@nestjs/common';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { EventBus, EventOutbox, type EventsModuleOptions } from 'nestjs-events';
import { createTestApp } from './create-test-app.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { OrderListeners } from '../fixtures/outbox.fixtures.js';

/** What an ORM outbox spec works with: its database, and apps with the outbox on it. */
export interface OrmOutboxSuite {
  /** The spec's database (set once `beforeAll` ran). */
  readonly database: TestDatabase;
  /** An app with the outbox on the spec's database and the given providers; closed after each test. */
  boot(
    providers?: Provider[],
    outbox?: Partial<NonNullable<EventsModuleOptions['outbox']>>,
  ): Promise<{
    app: INestApplicationContext;
    bus: EventBus;
    outbox: EventOutbox;
    orders: OrderListeners;
  }>;
}

/**
 * The shared setup of the ORM outbox specs: a database created before the suite (then `open`
 * connects the ORM to it) and dropped after it (after `close` disconnected the ORM), and apps
 * with `OrderListeners` (and the given providers), closed after each test.
 */
export function ormOutboxSuite(hooks: {
  open(url: string): Promise<void>;
  close(): Promise<void>;
}): OrmOutboxSuite {
  let database: TestDatabase | undefined;
  const apps: INestApplicationContext[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    await hooks.open(database.url);
  }, 60_000);
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await hooks.close().catch(() => undefined);
    await database?.drop();
  });
  return {
    get database() {
      if (database === undefined) throw new Error('the database is created in beforeAll');
      return database;
    },
    async boot(providers = [], outbox = {}) {
      const app = await createTestApp(
        { providers: [OrderListeners, ...providers] },
        { outbox: { connection: this.database.url, pollIntervalMs: 50, ...outbox } },
      );
      apps.push(app);
      return {
        app,
        bus: app.get(EventBus),
        outbox: app.get(EventOutbox),
        orders: app.get(OrderListeners),
      };
    },
  };
}

/** The `id` of each event's payload, in order. */
export const idsOf = (events: readonly { data: unknown }[]): string[] =>
  events.map((e) => (e.data as { id: string }).id);
