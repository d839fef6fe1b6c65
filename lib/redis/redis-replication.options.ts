import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';

/** The `replication` option: wait for replicas after each write (Redis `WAIT`). */
export interface ReplicationOptions {
  /** How many replicas must acknowledge each emit's write. */
  replicas: number;
  /**
   * How long (ms) an emit waits for them; fewer acknowledgements by then reject the emit with
   * `ReplicationTimeoutError` (the jobs are stored on the primary).
   * @default 500
   */
  timeoutMs?: number;
  /** Settles (ack, retry, release, dead-letter) wait for the replicas too. @default false */
  settles?: boolean;
}

/** `replication` after defaults. */
export interface ResolvedReplicationOptions {
  readonly replicas: number;
  readonly timeoutMs: number;
  readonly settles: boolean;
}

/**
 * Validates the `replication` option. Its timeout must stay below `redisCommandTimeout`, or
 * the client would give up on `WAIT` before Redis answers it.
 *
 * @throws InvalidOptionError naming the sub-option.
 */
export function resolveReplication(
  value: unknown,
  redisCommandTimeout: number,
): ResolvedReplicationOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('replication', value, '{ replicas, timeoutMs?, settles? }');
  }
  const { replicas, timeoutMs = 500, settles = false, ...rest } = value as ReplicationOptions;
  const [unknown] = Object.keys(rest);
  if (unknown !== undefined) {
    throw new InvalidOptionError(
      `replication.${unknown}`,
      (rest as Record<string, unknown>)[unknown],
      'no such option (allowed: replicas, timeoutMs, settles)',
    );
  }
  assertInteger('replication.replicas', replicas, 1, 100);
  assertInteger('replication.timeoutMs', timeoutMs, 1, Math.max(1, redisCommandTimeout - 1));
  if (typeof settles !== 'boolean') {
    throw new InvalidOptionError('replication.settles', settles, 'a boolean');
  }
  return { replicas, timeoutMs, settles };
}
