import type {
  ClaimBatch,
  ClaimedOccurrence,
  ScheduleStore,
  StoredSchedule,
} from './schedule-store.interface.js';

interface Entry {
  record: string;
  /** When it may be claimed: its due time, or the end of a lease. */
  score: number;
  /** The occurrence in flight (claimed, not committed). */
  inFlight: number | undefined;
}

/** Schedules of the embedded transport: this process's memory and clock (not durable). */
export class MemoryScheduleStore implements ScheduleStore {
  private readonly entries = new Map<string, Entry>();

  now(): Promise<number> {
    return Promise.resolve(Date.now());
  }

  get(id: string): Promise<string | undefined> {
    return Promise.resolve(this.entries.get(id)?.record);
  }

  upsert(id: string, record: string, due: number): Promise<void> {
    this.entries.set(id, { record, score: due, inFlight: undefined });
    return Promise.resolve();
  }

  remove(id: string): Promise<boolean> {
    return Promise.resolve(this.entries.delete(id));
  }

  list(): Promise<StoredSchedule[]> {
    return Promise.resolve(
      [...this.entries].map(([id, e]) => ({ id, record: e.record, due: e.inFlight ?? e.score })),
    );
  }

  claim(limit: number, leaseMs: number): Promise<ClaimBatch> {
    const now = Date.now();
    const claimed: ClaimedOccurrence[] = [];
    const due = [...this.entries].filter(([, e]) => e.score <= now);
    due.sort((a, b) => a[1].score - b[1].score);
    for (const [id, e] of due.slice(0, limit)) {
      const isReclaim = e.inFlight !== undefined;
      e.inFlight ??= e.score;
      e.score = now + leaseMs;
      claimed.push({ id, record: e.record, due: e.inFlight, isReclaim });
    }
    let nextDue: number | undefined;
    for (const e of this.entries.values())
      if (nextDue === undefined || e.score < nextDue) nextDue = e.score;
    return Promise.resolve({ now, claimed, nextDue });
  }

  commit(id: string, due: number, next: number | undefined): Promise<boolean> {
    const e = this.entries.get(id);
    if (e?.inFlight !== due) return Promise.resolve(false);
    e.inFlight = undefined;
    if (next === undefined) this.entries.delete(id);
    else e.score = next;
    return Promise.resolve(true);
  }
}
