import { Logger } from '@nestjs/common';
import type { OutboxSql } from './outbox-sql.js';
import type { OutboxQuery } from './outbox-transaction.js';

/**
 * Marks rows that the committing process dispatched, batching the marks of concurrent commits
 * into one statement. A mark that is lost (a crash, PostgreSQL down) only means the row is
 * dispatched again by a relay after `handoffMs`: at least once, never lost.
 */
export class OutboxMarker {
  private readonly logger = new Logger('EventOutbox');
  private pending: string[] = [];
  /** Dispatched but not yet marked: the ordering checks do not wait for these. */
  readonly unmarked = new Set<string>();
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly sql: OutboxSql,
    private readonly query: OutboxQuery,
  ) {}

  mark(ids: readonly string[]): void {
    for (const id of ids) {
      this.pending.push(id);
      this.unmarked.add(id);
    }
    this.flushing ??= this.flush();
  }

  /** Resolves once every mark made so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, 5000);
      try {
        await this.query(this.sql.markDispatchedAlone(batch));
      } catch (error) {
        this.logger.warn(
          `Cannot mark ${batch.length} dispatched outbox rows (a relay will dispatch them again): ${String(error)}`,
        );
      } finally {
        for (const id of batch) this.unmarked.delete(id);
      }
    }
    this.flushing = undefined;
  }
}
