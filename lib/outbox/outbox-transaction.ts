import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { JobOptions } from '../queue/queue.producer.js';

/** Runs one SQL statement in the transaction and resolves to its rows. */
export type OutboxQuery = (text: string, values?: readonly unknown[]) => Promise<unknown[]>;

/** An event written to the outbox in a transaction this process commits. */
export interface WrittenRow {
  /** The row id (a bigint, as text). */
  readonly id: string;
  readonly envelope: EventEnvelope;
  readonly orderingKey: string | null;
  readonly delayMs: number;
  /** The emit's priority and group, for its queued jobs. */
  readonly jobOptions: JobOptions | undefined;
}

/** A row of a transaction on the outbox's own pool, written with its COMMIT. */
export interface DeferredRow {
  /** The insert's values: event id, name, payload, ordering key, delay, writer, priority, group. */
  readonly values: readonly (string | number | null)[];
  readonly envelope: EventEnvelope;
  readonly orderingKey: string | null;
  readonly delayMs: number;
  readonly jobOptions: JobOptions | undefined;
}

/**
 * One database transaction that emits write to: the client the app's queries run on (given to
 * `afterCommit: false` listeners as `context.transaction`), how the outbox runs SQL on it, the
 * rows written, and the first failure inside it (which rolls it back even if it was caught).
 */
export class OutboxTransaction {
  readonly rows: WrittenRow[] = [];
  private readonly writes = new Set<Promise<unknown>>();
  private firstFailure: { error: unknown } | undefined;
  /** Set once committed or rolled back: emits from code that outlived it are not written to it. */
  isClosed = false;

  /**
   * @param isManaged true when `EventOutbox.transaction` commits it (and dispatches its rows
   *   after commit); false for a transaction the caller commits (`{ transaction: client }`).
   */
  /**
   * Set on transactions of the outbox's own pool: their rows are inserted by the statement that
   * commits (`INSERT ...; COMMIT`, one round trip instead of one per emit plus the COMMIT).
   * Nothing reads them back before: `afterCommit: false` listeners get the event, not the row.
   */
  readonly deferred: DeferredRow[] | undefined;

  constructor(
    readonly client: unknown,
    readonly query: OutboxQuery,
    readonly isManaged: boolean,
    defersRows = false,
  ) {
    this.deferred = defersRows ? [] : undefined;
  }

  /** The first failure inside the transaction, if any. */
  get failure(): { error: unknown } | undefined {
    return this.firstFailure;
  }

  /** Marks the transaction for rollback (the first failure is kept as the reason). */
  fail(error: unknown): void {
    this.firstFailure ??= { error };
  }

  /** Keeps an emit's write so the commit waits for it; a failed write rolls the transaction back. */
  track<T>(write: Promise<T>): Promise<T> {
    this.writes.add(write);
    write.then(
      () => this.writes.delete(write),
      (error: unknown) => {
        this.writes.delete(write);
        this.fail(error);
      },
    );
    return write;
  }

  /** Resolves once every emit started in the transaction has written (or failed). */
  async settled(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }
}

const storage = new AsyncLocalStorage<OutboxTransaction>();

/** The transaction of the current async context, found however deep the emit is. */
export function currentTransaction(): OutboxTransaction | undefined {
  const tx = storage.getStore();
  return tx === undefined || tx.isClosed ? undefined : tx;
}

/** Runs `fn` with `tx` as the current transaction of everything it starts. */
export function runInTransaction<R>(tx: OutboxTransaction, fn: () => R): R {
  return storage.run(tx, fn);
}

/** Runs `fn` outside any transaction: its emits go the usual way, not to the outbox. */
export function outsideTransaction<R>(fn: () => R): R {
  return storage.exit(fn);
}
