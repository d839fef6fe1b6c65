import { Logger } from '@nestjs/common';
import type { OutboxDispatcher } from './outbox.dispatcher.js';
import type { OutboxMarker } from './outbox.marker.js';
import { inKeyOrder } from './outbox-order.js';
import type { OutboxSql } from './outbox-sql.js';
import type { OutboxQuery, WrittenRow } from './outbox-transaction.js';

/**
 * The committing process's dispatch: right after COMMIT it dispatches the transaction's rows
 * (their envelopes are still in memory: nothing to read back) and marks them. Rows whose ordering
 * key has an earlier row still waiting, and all rows when the transport fails, are left to a
 * relay. Marks are batched, and the claims of relays never take a row younger than `handoffMs`,
 * so a row is dispatched here without a lock.
 */
export class OutboxCommitter {
  private readonly logger = new Logger('EventOutbox');

  constructor(
    private readonly sql: OutboxSql,
    private readonly query: OutboxQuery,
    private readonly dispatcher: OutboxDispatcher,
    private readonly marker: OutboxMarker,
    /** Asks the relay of this app (if any) to look again once the rows left to it are due. */
    private readonly leaveToRelay: () => void,
  ) {}

  /** Never throws: the transaction is committed whatever happens here. */
  async dispatch(rows: readonly WrittenRow[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      let eligible: readonly WrittenRow[] = rows;
      if (rows.some((r) => r.orderingKey !== null)) {
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
