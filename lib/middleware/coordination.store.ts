/** DI token of the `CoordinationStore` shared by the middleware of this application. */
export const COORDINATION_STORE = Symbol('COORDINATION_STORE');

/** What `CoordinationStore.acquire` found. */
export interface LeaseResult {
  /** True when the key is now held with our token (taken now, or already ours and extended). */
  readonly isAcquired: boolean;
  /** The value found in the key when it was not acquired (another holder's token, or a marker). */
  readonly holder?: string;
  /** When not acquired: ms until the current value expires (0 when it has no expiry). */
  readonly remainingMs: number;
}

/**
 * The shared state behind the built-in middleware (rate limits, leases, idempotency markers):
 * kept in Redis when the module has `redis` (shared by every worker), in memory otherwise (one
 * process). Every operation is atomic. Keys are plain strings; the store adds its own prefix.
 * Inject it with `@Inject(COORDINATION_STORE)` to write your own coordinating middleware.
 */
export interface CoordinationStore {
  /** `memory` or `redis`. */
  readonly kind: string;
  /**
   * A sliding-window rate limit: records one hit and resolves to 0 when fewer than `limit` hits
   * were recorded under `key` in the last `windowMs`; otherwise records nothing and resolves to
   * the ms until the oldest hit leaves the window.
   */
  hit(key: string, limit: number, windowMs: number): Promise<number>;
  /** Sets `key` to `token` for `ttlMs` if it is free (or already holds `token`: then extends it). */
  acquire(key: string, token: string, ttlMs: number): Promise<LeaseResult>;
  /** Extends the hold of `token` on `key`; false when the key no longer holds it. */
  extend(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Deletes `key` if it holds `token` (never someone else's value). */
  release(key: string, token: string): Promise<void>;
  /** Sets `key` to `value` for `ttlMs`, whatever it held. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** The value of `key`, or `undefined`. */
  get(key: string): Promise<string | undefined>;
  /** Appends `value` to the list `key` and sets the list's ttl to `ttlMs`. */
  append(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * Claims the list `key` under `claim` (ttl `ttlMs`) and resolves to its values: when `claim`
   * already holds a list, that one (a second claim gets the same values); else the list `key` is
   * moved there, all at once (an `append` lands before the move or in a new list). `key` and
   * `claim` share a Redis Cluster hash slot (give them the same hash tag).
   */
  claimList(key: string, claim: string, ttlMs: number): Promise<string[]>;
  /** Deletes `key`, whatever it holds. */
  delete(key: string): Promise<void>;
}
