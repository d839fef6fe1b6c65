import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  Inject,
  Injectable,
  Optional,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { QueueProducer } from '../queue/queue.producer.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { EventVersions } from '../scheduling/event-versions.js';
import { EventStore } from '../store/event-store.js';
import { EVENT_RECORDER } from '../store/event-store.constants.js';
import type { EventRecorder } from '../store/event.recorder.js';
import { PostgresEventStore } from '../store/postgres/postgres.event-store.js';
import { OutboxError } from '../errors/outbox.error.js';
import { OutboxNotConfiguredError } from '../errors/outbox-not-configured.error.js';
import { TransactionRolledBackError } from '../errors/transaction-rolled-back.error.js';
import { openOutboxConnection, type OutboxConnection } from './outbox-connection.js';
import { OutboxDispatcher } from './outbox.dispatcher.js';
import { markLingerMs, OutboxMarker } from './outbox.marker.js';
import { OutboxCommitter } from './outbox.committer.js';
import type { ResolvedOutboxOptions } from './outbox.options.js';
import { OutboxRelay, type RelayPool } from './outbox.relay.js';
import { OutboxSql } from './outbox-sql.js';
import { runPoolTransaction } from './pool-transaction.js';
import {
  currentTransaction,
  OutboxTransaction,
  runInTransaction,
  type OutboxQuery,
} from './outbox-transaction.js';
import { OutboxWriter, type RecordIn } from './outbox.writer.js';
import {
  pgClientAdapter,
  queryOfHandle,
  type OutboxClient,
  type TransactionClientAdapter,
} from './transaction-clients.js';
import { typeOrmAdapter } from './adapters/typeorm.adapter.js';
import { prismaAdapter } from './adapters/prisma.adapter.js';
import { mikroOrmAdapter } from './adapters/mikro-orm.adapter.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { InvalidTransactionError } from '../errors/invalid-transaction.error.js';

/** The transaction handles the outbox writes through: a pg client first, then the ORMs'. */
const ADAPTERS: readonly TransactionClientAdapter[] = [
  pgClientAdapter,
  typeOrmAdapter,
  prismaAdapter,
  mikroOrmAdapter,
];

/** What the outbox holds once configured. */
interface Configured {
  readonly options: ResolvedOutboxOptions;
  readonly sql: OutboxSql;
  readonly writer: OutboxWriter;
  readonly dispatcher: OutboxDispatcher;
  /** Recorded events are appended to the PostgreSQL event store in the emit's transaction. */
  readonly joinsStore: boolean;
  connection?: OutboxConnection;
  marker?: OutboxMarker;
  committer?: OutboxCommitter;
  relay?: OutboxRelay;
}

/**
 * The transactional outbox (`forRoot({ outbox })`): emits inside `transaction()` (or given a
 * `transaction` option) are written as rows in the same database transaction, delivered only if
 * it commits, dispatched by this process at once after commit, and by a relay (in any app with
 * the outbox) when this process could not.
 */
@Injectable()
export class EventOutbox
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(EventOutbox.name);
  private readonly configured: Configured | undefined;
  /** This process, on the rows of transactions it does not commit itself. */
  readonly writerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    @Inject(EVENTS_OPTIONS) options: ResolvedEventsOptions,
    bus: EventBus,
    private readonly registry: ListenerRegistry,
    producer: QueueProducer,
    private readonly store: EventStore,
    private readonly versions: EventVersions,
    @Optional() @Inject(EVENT_RECORDER) recorder: EventRecorder | null = null,
  ) {
    if (options.outbox === undefined) return;
    const sql = new OutboxSql(options.outbox.table, options.outbox.retentionMs);
    // The PostgreSQL event store appends in the emit's transaction; another store records an
    // event when it is dispatched (again, if it is dispatched twice).
    const joinsStore = recorder !== null && store instanceof PostgresEventStore;
    const recordIn =
      joinsStore && store instanceof PostgresEventStore
        ? (envelope: EventEnvelope): RecordIn | undefined => {
            const entry = recorder.prepare(envelope);
            return entry && ((query) => store.appendRecordedWith(query, [entry]));
          }
        : undefined;
    const writer = new OutboxWriter(
      sql,
      options.maxPayloadBytes,
      this.writerId,
      ADAPTERS,
      (name, listeners, jobOptions) => producer.checkJobOptions(name, listeners, jobOptions),
      recordIn,
    );
    const port = bus.attachOutbox(writer);
    writer.port = port;
    const dispatcher = new OutboxDispatcher(
      registry,
      producer,
      port,
      recorder !== null && !joinsStore ? (envelope) => recorder.record(envelope) : undefined,
    );
    this.configured = { options: options.outbox, sql, writer, dispatcher, joinsStore };
  }

  /**
   * Runs `fn` in a transaction on a pooled client and commits; rolls back and rethrows if it
   * throws (or if something inside it failed and was caught: then `TransactionRolledBackError`).
   * Every emit inside it, however deep, is written through that client and delivered only after
   * commit; this process dispatches them at once after commit (when `transaction` resolves, the
   * jobs are stored and in-process listeners started, unless the transport failed: then a relay
   * delivers them later). A `transaction` inside another joins it.
   *
   * @example
   * await outbox.transaction(async (client) => {
   *   await client.query('INSERT INTO orders (id) VALUES ($1)', [id]);
   *   await bus.emit('order.created', { id });
   * });
   */
  transaction<R>(fn: (client: OutboxClient) => Promise<R> | R): Promise<R>;
  /**
   * The same in a transaction of your ORM, which commits it: a TypeORM `DataSource` (or
   * `EntityManager`), whose `transaction` hands `fn` the transaction's `EntityManager`, or a
   * `PrismaClient`, whose `$transaction` hands it the interactive transaction client, or a
   * `MikroORM` (or its `EntityManager`), whose `em.transactional` hands it a forked
   * `EntityManager` (flushed before the commit). Emits
   * inside are written through the ORM's connection, in its transaction.
   *
   * @example
   * await outbox.transaction(dataSource, async (manager: EntityManager) => {
   *   await manager.save(order);
   *   await bus.emit('order.created', { id: order.id });
   * });
   */
  transaction<T, R>(orm: object, fn: (tx: T) => Promise<R> | R): Promise<R>;
  async transaction<R>(
    fnOrOrm: ((client: OutboxClient) => Promise<R> | R) | object,
    ormFn?: (tx: never) => Promise<R> | R,
  ): Promise<R> {
    const configured = this.require('EventOutbox.transaction');
    const fn = (typeof fnOrOrm === 'function' ? fnOrOrm : ormFn) as (tx: unknown) => Promise<R> | R;
    if (typeof fn !== 'function') {
      throw new InvalidOptionError('EventOutbox.transaction callback', ormFn, 'a function');
    }
    const active = currentTransaction();
    if (active?.isManaged) return this.join(active, fn);
    if (typeof fnOrOrm === 'function') return this.inPoolTransaction(configured, fn);
    const adapter = ADAPTERS.find((a) => a.starts?.(fnOrOrm));
    if (adapter?.run === undefined) {
      throw new InvalidTransactionError(
        fnOrOrm,
        'a TypeORM DataSource or EntityManager, a PrismaClient, or a MikroORM or its EntityManager, to start a transaction with',
      );
    }
    let tx: OutboxTransaction | undefined;
    let result: R;
    const committer = this.committerOf(configured);
    const run = adapter.run.bind(adapter);
    try {
      result = (await committer.during(() =>
        run(fnOrOrm, async (handle) => {
          tx = new OutboxTransaction(handle, queryOfHandle(handle, ADAPTERS), true);
          return this.runInside(tx, async () => {
            const inner = await fn(handle);
            await adapter.flush?.(handle);
            return inner;
          });
        }),
      )) as R;
    } finally {
      if (tx) tx.isClosed = true;
    }
    if (tx) await committer.dispatch(tx.rows);
    return result;
  }

  /** `transaction(fn)` on a client of the outbox's own pool. */
  private async inPoolTransaction<R>(
    configured: Configured,
    fn: (client: OutboxClient) => Promise<R> | R,
  ): Promise<R> {
    const committer = this.committerOf(configured);
    const { result, rows } = await committer.during(() =>
      runPoolTransaction(this.connection(configured).pool, configured.sql, (tx, client) =>
        this.runInside(tx, () => fn(client)),
      ),
    );
    await committer.dispatch(rows);
    return result;
  }

  /**
   * Runs the callback as the current transaction and waits for every emit started in it.
   * @throws what it threw, or TransactionRolledBackError when a failure inside it was caught.
   */
  private async runInside<R>(tx: OutboxTransaction, fn: () => Promise<R> | R): Promise<R> {
    const result = await runInTransaction(tx, fn);
    await tx.settled();
    if (tx.failure !== undefined) {
      throw new TransactionRolledBackError('a failure inside it was caught', {
        cause: tx.failure.error,
      });
    }
    return result;
  }

  /** A nested `transaction`: the outer one's client; its throw rolls the outer one back. */
  private async join<R>(
    tx: OutboxTransaction,
    fn: (client: OutboxClient) => Promise<R> | R,
  ): Promise<R> {
    try {
      return await fn(tx.client as OutboxClient);
    } catch (error) {
      tx.fail(error);
      throw error;
    }
  }

  async onModuleInit(): Promise<void> {
    const configured = this.configured;
    if (configured === undefined) return;
    configured.connection = await openOutboxConnection(configured.options);
    // Appends in a transaction need the store's function to exist already.
    if (configured.joinsStore && this.store instanceof PostgresEventStore)
      await this.store.migrate();
  }

  onApplicationBootstrap(): void {
    const configured = this.configured;
    if (configured === undefined || !configured.options.relay) return;
    const { pool } = this.connection(configured);
    configured.relay = new OutboxRelay(
      pool as unknown as RelayPool,
      configured.sql,
      configured.options,
      this.writerId,
      configured.dispatcher,
      this.markerOf(configured),
      (name) => this.registry.eventClass(name),
      (envelope) => this.versions.upcast(envelope),
      () => configured.writer.hasExternalWrites,
    );
    configured.relay.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.configured?.relay?.stop();
    // Commits dispatching now mark their rows once done: wait for them, then for the marks.
    await this.configured?.committer?.settled();
    await this.configured?.marker?.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    const connection = this.configured?.connection;
    if (connection?.ownsPool) await connection.pool.end().catch(() => undefined);
  }

  /** Whether `forRoot({ outbox })` configured the outbox. */
  get isConfigured(): boolean {
    return this.configured !== undefined;
  }

  /** The relay of this app (`undefined` with `relay: false` or no outbox), for tests and tools. */
  get relay(): OutboxRelay | undefined {
    return this.configured?.relay;
  }

  private require(usage: string): Configured {
    if (this.configured === undefined) throw new OutboxNotConfiguredError(usage);
    return this.configured;
  }

  private connection(configured: Configured): OutboxConnection {
    if (configured.connection === undefined) {
      throw new OutboxError('The outbox is not connected yet: use it once the app is initialised.');
    }
    return configured.connection;
  }

  private query(configured: Configured): OutboxQuery {
    const { pool } = this.connection(configured);
    return (text, values) => pool.query(text, values as unknown[]).then((r) => r.rows);
  }

  private markerOf(configured: Configured): OutboxMarker {
    return (configured.marker ??= new OutboxMarker(
      configured.sql,
      this.query(configured),
      markLingerMs(configured.options.handoffMs),
    ));
  }

  private committerOf(configured: Configured): OutboxCommitter {
    return (configured.committer ??= new OutboxCommitter(
      configured.sql,
      this.query(configured),
      configured.dispatcher,
      this.markerOf(configured),
      () => configured.relay?.wake(configured.options.handoffMs + 1),
    ));
  }
}
