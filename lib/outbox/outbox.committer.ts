import { Logger } from '@nestjs/common';
import type { OutboxDispatcher } from './outbox.dispatcher.js';
import type { OutboxMarker } from './outbox.marker.js';
import { inKeyOrder } from './outbox-order.js';
import type { OutboxSql } from './outbox-sql.js';
import type { OutboxQuery, WrittenRow } from './outbox-transaction.js';

/** Rows of commits waiting for the dispatch in flight, and how to tell their callers. */
interface Waiting {
  readonly rows: WrittenRow[];
  readonly done: (() => void)[];
}

/** Row ids are bigints as text: numeric order is insertion order. */
const byId = (a: WrittenRow, b: WrittenRow) =>
  a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The committing process's dispatch: right after COMMIT it dispatches the transaction's rows
 * (their envelopes are still in memory: nothing to read back) and marks them. Rows whose ordering
 * key has an earlier row still waiting, and all rows when the transport fails, are left to a
 * relay. Marks are batched, and the claims of relays never take a row younger than `handoffMs`,
 * so a row is dispatched here without a lock.
 *
 * Commits that arrive in one turn of the event loop while other transactions are open, or while a
 * dispatch is in flight, are dispatched together: one ordering check and one transport batch for
 * all of them, instead of one round trip per commit.
 */
export class OutboxCommitter {
  private readonly logger = new Logger('EventOutbox');
  private waiting: Waiting | undefined;
  private inFlight: Promise<void> | undefined;
  /** Transactions of this process open now (see `opened`). */
  private open = 0;

  constructor(
    private readonly sql: OutboxSql,
    private readonly query: OutboxQuery,
    private readonly dispatcher: OutboxDispatcher,
    private readonly marker: OutboxMarker,
    /** Asks the relay of this app (if any) to look again once the rows left to it are due. */
    private readonly leaveToRelay: () => void,
  ) {}

  /** Notes a transaction of this process opened: it may commit in the turn of another. */
  opened(): void {
    this.open++;
  }

  /** Notes that transaction ended (committed or rolled back), before its rows are dispatched. */
  closed(): void {
    this.open--;
  }

  /** Runs a transaction of this process, noted open (`opened`) until it ends, committed or not. */
  async during<T>(transaction: () => Promise<T>): Promise<T> {
    this.opened();
    try {
      return await transaction();
    } finally {
      this.closed();
    }
  }

  /** Resolves once no dispatch is in flight or waiting (for shutdown: its marks come after). */
  async settled(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  /** Resolves once the rows were dispatched (or left to a relay). Never rejects. */
  dispatch(rows: readonly WrittenRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const waiting = (this.waiting ??= { rows: [], done: [] });
    waiting.rows.push(...rows);
    const settled = new Promise<void>((resolve) => waiting.done.push(resolve));
    this.inFlight ??= this.drain();
    return settled;
  }

  private async drain(): Promise<void> {
    // While other transactions are open, the commits whose replies this turn of the event loop
    // reads go out together: under load a turn reads several, and one transport batch for them
    // costs less than one each. A lone commit goes out at once.
    if (this.open > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (let batch = this.waiting; batch !== undefined; batch = this.waiting) {
      this.waiting = undefined;
      await this.dispatchNow(batch.rows);
      for (const done of batch.done) done();
    }
    this.inFlight = undefined;
  }

  /** Never throws: the transactions are committed whatever happens here. */
  private async dispatchNow(rows: WrittenRow[]): Promise<void> {
    try {
      let eligible: readonly WrittenRow[] = rows;
      if (rows.some((r) => r.orderingKey !== null)) {
        // Rows of several commits: within a key, dispatched in the order they were written.
        rows.sort(byId);
        const ids = rows.map((r) => r.id);
        const found = (await this.query(this.sql.blocked, [
          ids,
          rows.map((r) => r.orderingKey),
          [...ids, ...this.marker.unmarked],
        ])) as { id: string }[];
        const blocked = new Set(found.map((r) => r.id));
        eligible = inKeyOrder(
          rows,
          (r) => r.orderingKey,
          (r) => blocked.has(r.id),
        );
      }
      if (eligible.length > 0) {
        await this.dispatcher.dispatch(eligible);
        this.marker.mark(eligible.map((r) => r.id));
      }
      if (eligible.length < rows.length) this.leaveToRelay();
    } catch (error) {
      this.logger.warn(
        `Committed events not dispatched yet (${rows.length}; a relay delivers them): ${String(error)}`,
      );
      this.leaveToRelay();
    }
  }
}
