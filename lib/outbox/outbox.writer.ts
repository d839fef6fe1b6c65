import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import { wireEnvelope } from '../event/event-schema.js';
import type { PreparedEmit } from '../bus/emit-preparer.js';
import type { OutboxBusPort, OutboxRouter } from '../bus/outbox-port.js';
import type { ResolvedListeners } from '../discovery/listener.registry.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { ListenersFailedError, type ListenerFailure } from '../errors/listeners-failed.error.js';
import { transactionListeners } from './outbox-listeners.js';
import type { OutboxSql } from './outbox-sql.js';
import type { JobOptions } from '../queue/queue.producer.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { currentTransaction, OutboxTransaction, type OutboxQuery } from './outbox-transaction.js';
import { queryOfHandle, type TransactionClientAdapter } from './transaction-clients.js';

/** Appends one recorded event through a transaction's `query`. */
export type RecordIn = (query: OutboxQuery) => Promise<unknown>;

/**
 * Turns an emit inside a transaction into an outbox row: checks and serializes the payload (a bad
 * one is refused before the insert), inserts the row through the transaction's client, then runs
 * the `afterCommit: false` listeners inside the transaction. Everything else runs after commit.
 */
export class OutboxWriter implements OutboxRouter {
  port: OutboxBusPort | undefined;
  /** Whether rows were written in transactions this process does not commit itself. */
  hasExternalWrites = false;

  constructor(
    private readonly sql: OutboxSql,
    private readonly maxPayloadBytes: number,
    /** Written on rows of transactions this process does not commit (see `OutboxRelay`). */
    private readonly writerId: string,
    private readonly adapters: readonly TransactionClientAdapter[],
    /** Refuses job options its queued listeners cannot take (see `QueueProducer.checkJobOptions`). */
    private readonly checkJobOptions: (
      eventName: string,
      listeners: readonly ListenerDefinition[],
      options: JobOptions | undefined,
    ) => void,
    /**
     * With the PostgreSQL event store and `store.record`: checks the event now and returns how
     * to append it through the transaction (`undefined` when it is not recorded).
     */
    private readonly recordIn?: (envelope: EventEnvelope) => RecordIn | undefined,
  ) {}

  route(prepared: PreparedEmit, kind: 'emit' | 'emitAsync'): Promise<unknown[]> | undefined {
    const { envelope, options } = prepared;
    const tx = this.transactionOf(options?.transaction);
    if (tx === undefined) return undefined;
    if (this.port?.intercepted(envelope, options)) return Promise.resolve([]);
    const orderingKey = options?.orderingKey ?? envelope.metadata.aggregateId ?? null;
    if (orderingKey !== null && (typeof orderingKey !== 'string' || orderingKey.length === 0)) {
      throw new InvalidOptionError('orderingKey', orderingKey, 'a non-empty string');
    }
    const payload = serializeEnvelope(wireEnvelope(envelope), this.maxPayloadBytes);
    const delayMs = options?.delay ?? 0;
    // Kept with the row and given to the queued jobs at dispatch, as an emit would (the priority
    // is the option's, or the class's: see `EmitPreparer`). Checked now, before the row is written.
    const jobOptions = jobOptionsOf(options);
    const { inside, after } = transactionListeners(prepared.listeners);
    this.checkJobOptions(envelope.name, after.queued, jobOptions);
    const record = this.recordIn?.(envelope);
    const values = [
      envelope.id,
      envelope.name,
      payload,
      orderingKey,
      delayMs,
      tx.isManaged ? null : this.writerId,
      jobOptions?.priority ?? null,
      jobOptions?.group ?? null,
    ] as const;
    // The event store's append rides the same transaction: recorded if, and only if, it commits.
    const appended = record?.(tx.query);
    if (tx.deferred !== undefined) {
      // Written with the COMMIT, in one round trip (see `OutboxTransaction.deferred`).
      tx.deferred.push({ values, envelope, orderingKey, delayMs, jobOptions });
      const written = Promise.resolve(appended).then(() =>
        inside.inProcess.length === 0 ? [] : runInside(envelope, inside, tx, kind),
      );
      return tx.track(written);
    }
    // Issued now, so rows follow emit order even when emits are not awaited. Only rows of a
    // caller-managed transaction announce the commit: a NOTIFY makes PostgreSQL serialize
    // commits (a lock held through the WAL flush), and the rows of a managed one are dispatched
    // here after commit; relays find those of a writer that died by polling.
    const inserted = tx.query(tx.isManaged ? this.sql.insert : this.sql.insertAndNotify, values);
    const written = Promise.all([inserted, appended]).then(async ([rows]) => {
      const id = (rows[0] as { id: string }).id;
      if (tx.isManaged) tx.rows.push({ id, envelope, orderingKey, delayMs, jobOptions });
      return inside.inProcess.length === 0 ? [] : runInside(envelope, inside, tx, kind);
    });
    return tx.track(written);
  }

  /** The transaction an emit belongs to: the option's, else the one of the async context. */
  private transactionOf(given: unknown): OutboxTransaction | undefined {
    const current = currentTransaction();
    if (given === undefined || given === current?.client) return current;
    this.hasExternalWrites = true;
    return new OutboxTransaction(given, queryOfHandle(given, this.adapters), false);
  }
}

/** The emit options its queued jobs take (undefined when it gives none). */
function jobOptionsOf(options: PreparedEmit['options']): JobOptions | undefined {
  if (options?.priority === undefined && options?.group === undefined) return undefined;
  return {
    ...(options.priority !== undefined && { priority: options.priority }),
    ...(options.group !== undefined && { group: options.group }),
  };
}

/**
 * Runs `afterCommit: false` listeners one after the other (they share the transaction's client),
 * each with `context.transaction`. A failure rejects the emit with `ListenersFailedError`, which
 * marks the transaction for rollback.
 */
async function runInside(
  envelope: EventEnvelope,
  listeners: ResolvedListeners,
  tx: OutboxTransaction,
  kind: 'emit' | 'emitAsync',
): Promise<unknown[]> {
  const results: unknown[] = [];
  const failures: ListenerFailure[] = [];
  await EventContext.runAs(envelope, async () => {
    for (let i = 0; i < listeners.inProcess.length; i++) {
      const listener = listeners.inProcess[i];
      try {
        if (listener.filter !== undefined && !listener.filter(envelope)) continue;
        const context = { ...listeners.contexts[i], transaction: tx.client };
        results.push(await listener.invoke(envelope, context));
      } catch (error) {
        failures.push({ listener: listener.id, error });
      }
    }
  });
  if (failures.length > 0) throw new ListenersFailedError(envelope.name, failures, results);
  return kind === 'emitAsync' ? results : [];
}
