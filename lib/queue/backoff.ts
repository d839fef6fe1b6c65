import { InvalidOptionError } from '../errors/invalid-option.error.js';

/** Exponential backoff: `delay * 2^(retry-1)`, capped at `maxDelay`, plus up to `jitter` of it. */
export interface ExponentialBackoff {
  readonly type: 'exponential';
  /** The first retry's delay in ms. */
  readonly delay: number;
  /** The cap in ms. @default no cap */
  readonly maxDelay?: number;
  /**
   * A fraction (0 to 1) of the delay added at random, so that retries of many jobs spread out.
   * Jitter only lengthens a delay: a retry never comes sooner than configured.
   * @default 0
   */
  readonly jitter?: number;
}

/** The wait before a retry: fixed ms, ms per retry (the last repeats), or exponential. */
export type BackoffOption = number | readonly number[] | ExponentialBackoff;

const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;

function isNonNegativeInteger(value: unknown): value is number {
  return (
    typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_DELAY_MS
  );
}

const EXPONENTIAL_KEYS = ['type', 'delay', 'maxDelay', 'jitter'];

function isValidExponential(value: object): boolean {
  const b = value as Partial<ExponentialBackoff>;
  return (
    b.type === 'exponential' &&
    // A misspelled key (`max` for `maxDelay`) would otherwise silently mean "no cap".
    Object.keys(b).every((key) => EXPONENTIAL_KEYS.includes(key)) &&
    isNonNegativeInteger(b.delay) &&
    (b.maxDelay === undefined || (isNonNegativeInteger(b.maxDelay) && b.maxDelay >= b.delay)) &&
    (b.jitter === undefined || (typeof b.jitter === 'number' && b.jitter >= 0 && b.jitter <= 1))
  );
}

/** Throws `InvalidOptionError` unless `value` is a valid backoff. */
export function assertBackoff(option: string, value: unknown): asserts value is BackoffOption {
  if (isNonNegativeInteger(value)) return;
  if (Array.isArray(value)) {
    // A plain loop, not `every`: `every` skips the holes of a sparse list such as [100, , 300].
    let valid = value.length > 0;
    for (let i = 0; valid && i < value.length; i++) valid = isNonNegativeInteger(value[i]);
    if (valid) return;
    throw new InvalidOptionError(option, value, 'a non-empty list of delays in ms (integers >= 0)');
  }
  if (value !== null && typeof value === 'object' && isValidExponential(value)) return;
  throw new InvalidOptionError(
    option,
    value,
    "ms (integer >= 0), a list of ms, or { type: 'exponential', delay, maxDelay? (>= delay), " +
      'jitter? (0..1) }',
  );
}

/**
 * The delay in ms before retry number `retry` (1 = the retry after the first failed attempt;
 * lower numbers count as 1). Never less than the configured delay for that retry.
 */
export function backoffDelay(
  backoff: BackoffOption,
  retry: number,
  random: () => number = Math.random,
): number {
  if (typeof backoff === 'number') return backoff;
  const n = Math.max(1, Math.floor(retry));
  if (Array.isArray(backoff)) return backoff[Math.min(n, backoff.length) - 1];
  const b = backoff as ExponentialBackoff;
  // 2^40 ms already passes the one-year ceiling; a bounded exponent keeps 0 * 2^n finite (not NaN).
  const grown = b.delay * 2 ** Math.min(n - 1, 40);
  const base = Math.min(grown, b.maxDelay ?? MAX_DELAY_MS, MAX_DELAY_MS);
  return base + Math.floor(random() * (b.jitter ?? 0) * base);
}
