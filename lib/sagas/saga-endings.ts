import type { SagaStore } from './saga.store.js';
import { FINISHED, type SagaRecord } from './saga-definition.js';

/**
 * When an awaited saga is first read again while this process has heard nothing of its end
 * (another process may end it); each later read waits twice as long, up to `POLL_MAX_MS`.
 */
const POLL_MS = 250;
const POLL_MAX_MS = 2_000;
/** Reads due within this much of each other are made together. */
const POLL_GRAIN_MS = 50;
/** Sagas checked per `areActive` call. */
const CHECK_BATCH = 1_000;

interface Awaiting {
  readonly resolve: (record: SagaRecord) => void;
  readonly reject: (error: unknown) => void;
}

interface Waiter {
  readonly awaiting: Set<Awaiting>;
  dueAt: number;
  pollMs: number;
  /** Read the record at once (`readNow`), not first checked with `areActive`. */
  isRead: boolean;
}

/** One `execute` waiting for its saga (see `SagaEndings.wait`). */
export interface SagaWait {
  /** Resolves with the saga's record once it ended; rejects when a read of it fails. */
  readonly ended: Promise<SagaRecord>;
  /** Reads the saga now, instead of `POLL_MS` later (it may have ended before the wait). */
  readNow(): void;
  /** Stops waiting. */
  cancel(): void;
}

/**
 * The sagas `execute` awaits. A saga this process ends hands its waiters the record it wrote
 * (`ended`): no read, no timer per saga. The reads are only for endings in other processes: one
 * timer for all the awaited sagas; the sagas that fall due together are checked together with
 * `areActive` (one command on Redis for up to `CHECK_BATCH`), and only those no longer active are
 * read. Thousands of awaited sagas thus do not spend the store's link and this event loop on
 * reads of records that have not ended.
 */
export class SagaEndings {
  private readonly waiters = new Map<string, Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(private readonly store: SagaStore) {}

  /**
   * Waits for saga `id` to end. Call it before the write that may end the saga, so that its end
   * is not missed; its first read is `POLL_MS` away unless `readNow`.
   */
  wait(id: string): SagaWait {
    let waiter = this.waiters.get(id);
    if (waiter === undefined) {
      waiter = { awaiting: new Set(), dueAt: Infinity, pollMs: POLL_MS, isRead: false };
      this.waiters.set(id, waiter);
      this.due(waiter, Date.now() + POLL_MS);
    }
    const w = waiter;
    let awaiting!: Awaiting;
    const ended = new Promise<SagaRecord>((resolve, reject) => (awaiting = { resolve, reject }));
    w.awaiting.add(awaiting);
    return {
      ended,
      readNow: () => {
        w.isRead = true;
        this.due(w, 0);
      },
      cancel: () => {
        w.awaiting.delete(awaiting);
        if (w.awaiting.size === 0 && this.waiters.get(id) === w) this.drop(id);
      },
    };
  }

  /** A saga this process ended (a finished record). */
  ended(record: SagaRecord): void {
    const waiter = this.waiters.get(record.id);
    if (waiter === undefined) return;
    this.drop(record.id);
    for (const { resolve } of waiter.awaiting) resolve(record);
  }

  /** Forgets `id`'s waiter; with none left, no timer outlives the last `execute`. */
  private drop(id: string): void {
    this.waiters.delete(id);
    if (this.waiters.size > 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** Reads `waiter`'s saga at `dueAt` (or sooner). */
  private due(waiter: Waiter, dueAt: number): void {
    if (dueAt >= waiter.dueAt) return;
    waiter.dueAt = dueAt;
    this.schedule(dueAt);
  }

  private schedule(dueAt: number): void {
    const at = Math.ceil(dueAt / POLL_GRAIN_MS) * POLL_GRAIN_MS;
    if (at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.poll(), Math.max(0, at - Date.now()));
  }

  /** Checks every saga due, together; reschedules for the next one due. */
  private poll(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    const checks: [string, Waiter][] = [];
    for (const [id, waiter] of this.waiters) {
      if (waiter.dueAt > now + POLL_GRAIN_MS) {
        next = Math.min(next, waiter.dueAt);
        continue;
      }
      // In flight: no other read of it until this one is back (`due` only brings reads closer).
      waiter.dueAt = Infinity;
      if (waiter.isRead) void this.read(id, waiter);
      else checks.push([id, waiter]);
    }
    for (let i = 0; i < checks.length; i += CHECK_BATCH) {
      void this.check(checks.slice(i, i + CHECK_BATCH));
    }
    if (next !== Infinity) this.schedule(next);
  }

  /** Reads the sagas of `batch` that are no longer active; the others are due again later. */
  private async check(batch: [string, Waiter][]): Promise<void> {
    let active: boolean[];
    try {
      active = await this.store.areActive(batch.map(([id]) => id));
    } catch (error) {
      for (const [id, waiter] of batch) this.fail(id, waiter, error);
      return;
    }
    batch.forEach(([id, waiter], i) => {
      if (active[i]) this.again(id, waiter);
      else void this.read(id, waiter);
    });
  }

  private async read(id: string, waiter: Waiter): Promise<void> {
    let record: SagaRecord | undefined;
    try {
      record = await this.store.get(id);
    } catch (error) {
      this.fail(id, waiter, error);
      return;
    }
    if (record !== undefined && FINISHED.includes(record.status)) {
      // Unless it ended here meanwhile, or is no longer awaited.
      if (this.waiters.get(id) === waiter) this.ended(record);
      return;
    }
    this.again(id, waiter);
  }

  /** `waiter`'s saga has not ended: due again later, each time twice as late. */
  private again(id: string, waiter: Waiter): void {
    if (this.waiters.get(id) !== waiter) return;
    waiter.isRead = false;
    this.due(waiter, Date.now() + waiter.pollMs);
    waiter.pollMs = Math.min(waiter.pollMs * 2, POLL_MAX_MS);
  }

  private fail(id: string, waiter: Waiter, error: unknown): void {
    if (this.waiters.get(id) !== waiter) return;
    this.drop(id);
    for (const { reject } of waiter.awaiting) reject(error);
  }
}
