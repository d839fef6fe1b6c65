import { Logger } from '@nestjs/common';
import type { OutboxSql } from './outbox-sql.js';
import type { OutboxQuery } from './outbox-transaction.js';

/** Marks gathered before a statement is sent at the latest (ms), unless `handoffMs` is shorter. */
const LINGER_MS = 50;
/** Marks sent at once, without waiting for the linger. */
const BATCH = 5000;

/**
 * How long marks may wait for more: a tenth of `handoffMs` at most, so that other relays, which
 * leave a row to its writer that long, do not dispatch a row again because its mark was late.
 */
export function markLingerMs(handoffMs: number): number {
  return Math.min(LINGER_MS, Math.floor(handoffMs / 10));
}

/**
 * Marks rows that the committing process dispatched, batching the marks of the commits of one
 * linger window into one statement (each statement is a transaction of its own: a few per
 * second instead of one per dispatch keeps PostgreSQL's work per event close to the row's own
 * insert and delete). A mark that is lost (a crash, PostgreSQL down) only means the row is
 * dispatched again by a relay after `handoffMs`: at least once, never lost.
 */
export class OutboxMarker {
  private readonly logger = new Logger('EventOutbox');
  private pending: string[] = [];
  /** Dispatched but not yet marked: the ordering checks do not wait for these. */
  readonly unmarked = new Set<string>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sql: OutboxSql,
    private readonly query: OutboxQuery,
    /** How long the first pending mark waits for others (ms; 0: sent at once). */
    private readonly lingerMs = 0,
  ) {}

  mark(ids: readonly string[]): void {
    for (const id of ids) {
      this.pending.push(id);
      this.unmarked.add(id);
    }
    if (this.flushing !== undefined) return;
    if (this.lingerMs === 0 || this.pending.length >= BATCH) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushNow(), this.lingerMs);
  }

  /** Resolves once every mark made so far is written (or failed), without waiting for the linger. */
  async drain(): Promise<void> {
    if (this.pending.length > 0 && this.flushing === undefined) this.flushNow();
    while (this.flushing) await this.flushing;
  }

  private flushNow(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH);
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
