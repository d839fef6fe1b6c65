import type { CoordinationStore, LeaseResult } from './coordination.store.js';

interface Entry {
  value: string;
  expiresAt: number;
}

/** Writes between two sweeps of expired entries: bounds memory without a timer. */
const SWEEP_EVERY = 1000;

/**
 * The in-process `CoordinationStore` (the store of apps without `redis`): shared by the workers
 * and listeners of one application, not across processes.
 */
export class MemoryCoordinationStore implements CoordinationStore {
  readonly kind = 'memory';
  private readonly values = new Map<string, Entry>();
  private readonly lists = new Map<string, { values: string[]; expiresAt: number }>();
  private readonly hits = new Map<string, { windowMs: number; at: number[] }>();
  private writes = 0;

  /** @param now the clock (ms), replaceable in tests */
  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, limit: number, windowMs: number): Promise<number> {
    const now = this.now();
    this.sweepLater();
    const at = (this.hits.get(key)?.at ?? []).filter((t) => t > now - windowMs);
    this.hits.set(key, { windowMs, at });
    if (at.length < limit) {
      at.push(now);
      return 0;
    }
    return Math.max(1, at[0] + windowMs - now);
  }

  async acquire(key: string, token: string, ttlMs: number): Promise<LeaseResult> {
    const current = this.read(key);
    if (current === undefined || current.value === token) {
      this.write(key, token, ttlMs);
      return { isAcquired: true, remainingMs: 0 };
    }
    return {
      isAcquired: false,
      holder: current.value,
      remainingMs: Math.max(0, current.expiresAt - this.now()),
    };
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.read(key)?.value !== token) return false;
    this.write(key, token, ttlMs);
    return true;
  }

  async release(key: string, token: string): Promise<void> {
    if (this.read(key)?.value === token) this.values.delete(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.write(key, value, ttlMs);
  }

  async get(key: string): Promise<string | undefined> {
    return this.read(key)?.value;
  }

  async append(key: string, value: string, ttlMs: number): Promise<void> {
    this.sweepLater();
    const values = this.list(key) ?? [];
    values.push(value);
    this.lists.set(key, { values, expiresAt: this.now() + ttlMs });
  }

  async claimList(key: string, claim: string, ttlMs: number): Promise<string[]> {
    const claimed = this.list(claim);
    if (claimed !== undefined) return [...claimed];
    const values = this.list(key);
    if (values === undefined) return [];
    this.lists.delete(key);
    this.lists.set(claim, { values, expiresAt: this.now() + ttlMs });
    return [...values];
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
    this.lists.delete(key);
  }

  private list(key: string): string[] | undefined {
    const entry = this.lists.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.lists.delete(key);
      return undefined;
    }
    return entry?.values;
  }

  private read(key: string): Entry | undefined {
    const entry = this.values.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: string, ttlMs: number): void {
    this.sweepLater();
    this.values.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  private sweepLater(): void {
    if (++this.writes < SWEEP_EVERY) return;
    this.writes = 0;
    const now = this.now();
    for (const [key, entry] of this.values) if (entry.expiresAt <= now) this.values.delete(key);
    for (const [key, entry] of this.lists) if (entry.expiresAt <= now) this.lists.delete(key);
    for (const [key, { windowMs, at }] of this.hits) {
      if (at.length === 0 || at[at.length - 1] <= now - windowMs) this.hits.delete(key);
    }
  }
}
