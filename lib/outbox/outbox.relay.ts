import { Logger } from '@nestjs/common';
import { deserializeEnvelope } from '../event/event.serializer.js';
import { backoffDelay } from '../queue/backoff.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { CommittedEvent, OutboxDispatcher } from './outbox.dispatcher.js';
import type { JobOptions } from '../queue/queue.producer.js';
import type { OutboxMarker } from './outbox.marker.js';
import type { ResolvedOutboxOptions } from './outbox.options.js';
import type { ClaimedRow, OutboxSql } from './outbox-sql.js';
import { inKeyOrder } from './outbox-order.js';

/** A pooled `pg` client, as the relay uses it. */
export interface RelayClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  release(error?: Error | boolean): void;
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** What the relay needs of the outbox's pool. */
export interface RelayPool {
  connect(): Promise<RelayClient>;
}

const CLEANUP_BATCH = 5000;

/**
 * Dispatches the rows their writer did not: it died after COMMIT, or the transport was down.
 * Wakes on the commits' NOTIFY (its own process's rows of caller-managed transactions at once,
 * the others once `handoffMs` has passed), polls every `pollIntervalMs` as a fallback, claims
 * batches with `FOR UPDATE SKIP LOCKED` so relays share the work, keeps each ordering key in
 * order, and backs off while the transport (or PostgreSQL) fails. Also deletes rows past
 * `retentionMs`.
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Infinity;
  private running: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private listener: RelayClient | undefined;
  private stopped = false;
  private handoffTimer: NodeJS.Timeout | undefined;
  private lastNotifiedAt = 0;
  /** Rows this relay found failed (unparseable) since it started. */
  failedRows = 0;

  constructor(
    private readonly pool: RelayPool,
    private readonly sql: OutboxSql,
    private readonly options: ResolvedOutboxOptions,
    private readonly writerId: string,
    private readonly dispatcher: OutboxDispatcher,
    private readonly marker: OutboxMarker,
    private readonly eventClass: (name: string) => Function | undefined,
    /** Brings a row written by an older producer to its event's current version (upcasters). */
    private readonly upcast: (envelope: EventEnvelope) => EventEnvelope,
    /** Whether this process wrote rows in transactions it does not commit itself. */
    private readonly hasExternalWrites: () => boolean,
  ) {}

  start(): void {
    void this.listen();
    this.wake(0);
  }

  /** Runs a cycle in `delayMs` (or sooner if one is already due sooner). */
  wake(delayMs: number): void {
    if (this.stopped) return;
    const dueAt = Date.now() + delayMs;
    if (this.timer !== undefined && this.dueAt <= dueAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.dueAt = dueAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dueAt = Infinity;
      this.runCycle();
    }, delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.handoffTimer !== undefined) clearTimeout(this.handoffTimer);
    this.timer = this.handoffTimer = undefined;
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      listener.removeAllListeners('notification');
      listener.release(true);
    }
    await this.running;
  }

  private runCycle(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.cycle().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.runCycle();
      }
    });
  }

  private async cycle(): Promise<void> {
    try {
      // A full batch that made progress means more may wait: claim again at once. A batch whose
      // rows all wait behind another relay's batch (same ordering keys) does not spin.
      for (;;) {
        if (this.stopped) break;
        const { claimed, settled } = await this.claimOnce();
        if (claimed < this.options.batchSize || settled === 0) break;
      }
      if (this.options.retentionMs > 0 && !this.stopped) await this.cleanup();
      this.failures = 0;
      this.wake(this.options.pollIntervalMs);
    } catch (error) {
      // Exponential from 100 ms, capped at ten poll intervals (1 s to 30 s).
      const maxDelay = Math.min(30_000, Math.max(1000, this.options.pollIntervalMs * 10));
      const backoff = { type: 'exponential', delay: 100, maxDelay, jitter: 0.2 } as const;
      const delay = backoffDelay(backoff, ++this.failures);
      this.logger.warn(
        `Outbox relay failed (rows wait; retry ${this.failures} in ${delay} ms): ${String(error)}`,
      );
      this.wake(delay);
    }
  }

  /**
   * Claims, dispatches and marks one batch in one transaction; resolves to the rows claimed and
   * those settled (dispatched or marked failed).
   */
  private async claimOnce(): Promise<{ claimed: number; settled: number }> {
    const client = await this.pool.connect();
    let rows: ClaimedRow[];
    let settled = 0;
    try {
      await client.query(this.sql.begin);
      rows = (
        await client.query(this.sql.claim, [
          this.writerId,
          this.options.handoffMs,
          this.options.batchSize,
          [...this.marker.unmarked],
        ])
      ).rows as ClaimedRow[];
      const events: CommittedEvent[] = [];
      const done: string[] = [];
      for (const row of inKeyOrder(
        rows,
        (r) => r.ordering_key,
        (r) => r.blocked,
      )) {
        try {
          events.push({
            envelope: this.upcast(deserializeEnvelope(row.payload, this.eventClass)),
            delayMs: row.delay_ms,
            jobOptions: jobOptionsOf(row),
          });
          done.push(row.id);
        } catch (error) {
          // Unreadable, or an upcaster threw: marked failed with its reason; the batch goes on.
          this.failedRows++;
          settled++;
          this.logger.error(`Outbox row ${row.id} cannot be read: ${String(error)}`);
          await client.query(this.sql.markFailed, [row.id, String(error)]);
        }
      }
      if (events.length > 0) await this.dispatcher.dispatch(events);
      if (done.length > 0) await client.query(this.sql.markDispatched(done));
      await client.query('COMMIT');
      settled += done.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      throw error;
    }
    client.release();
    return { claimed: rows.length, settled };
  }

  private async cleanup(): Promise<void> {
    const client = await this.pool.connect();
    try {
      for (;;) {
        const result = (await client.query(this.sql.cleanup, [
          this.options.retentionMs,
          CLEANUP_BATCH,
        ])) as { rowCount?: number | null };
        if ((result.rowCount ?? 0) < CLEANUP_BATCH || this.stopped) break;
      }
    } finally {
      client.release();
    }
  }

  /**
   * A commit with outbox rows: rows of this process's caller-managed transactions go at once;
   * other rows are their writer's for `handoffMs`, so the relay looks again once that passed.
   */
  private notified(): void {
    this.lastNotifiedAt = Date.now();
    if (this.hasExternalWrites()) this.wake(0);
    this.scheduleHandoff(this.options.handoffMs);
  }

  private scheduleHandoff(delayMs: number): void {
    if (this.handoffTimer !== undefined || this.stopped) return;
    const scheduledAt = Date.now();
    this.handoffTimer = setTimeout(() => {
      this.handoffTimer = undefined;
      this.wake(0);
      // Commits announced since this timer was set are not due yet: one more timer for them.
      if (this.lastNotifiedAt > scheduledAt) {
        this.scheduleHandoff(this.lastNotifiedAt + this.options.handoffMs - Date.now() + 1);
      }
    }, delayMs + 1);
  }

  /** LISTENs on a dedicated connection; polling covers the gaps while it is down. */
  private async listen(): Promise<void> {
    let client: RelayClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      this.relisten(`cannot connect: ${String(error)}`);
      return;
    }
    if (this.stopped) {
      client.release();
      return;
    }
    this.listener = client;
    client.on('notification', (message) => {
      if (message.channel === this.sql.names.channel) this.notified();
    });
    client.on('error', (error) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.removeAllListeners('notification');
      client.release(error);
      this.relisten(error.message);
    });
    try {
      await client.query(`LISTEN "${this.sql.names.channel}"`);
    } catch (error) {
      if (this.listener === client) {
        this.listener = undefined;
        client.release(true);
      }
      this.relisten(String(error));
    }
  }

  private relisten(reason: string): void {
    if (this.stopped) return;
    this.logger.warn(
      `Outbox relay cannot LISTEN (polling every ${this.options.pollIntervalMs} ms): ${reason}`,
    );
    setTimeout(() => void this.listen(), this.options.pollIntervalMs).unref();
  }
}

/** The job options a row kept (none for rows written before they were). */
function jobOptionsOf(row: ClaimedRow): JobOptions | undefined {
  if (row.priority === null && row.job_group === null) return undefined;
  return {
    ...(row.priority !== null && { priority: row.priority }),
    ...(row.job_group !== null && { group: row.job_group }),
  };
}
