import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger } from '../option-assertions.js';
import type { PostgresConnectionOptions } from '../store/event-store.options.js';

/** The `sagas` option of `EventsModule.forRoot`: where orchestrated sagas keep their state. */
export interface SagasOptions {
  /**
   * The saga store: `memory` (lost on exit), `redis` (the module's Redis) or `postgres`
   * (`sagas.postgres`, else the event store's `store.postgres`).
   * @default 'redis' when `redis` is set, else 'memory'
   */
  store?: 'memory' | 'redis' | 'postgres';
  /** PostgreSQL for `store: 'postgres'`: a URL or connection options. @default store.postgres */
  postgres?: string | PostgresConnectionOptions;
  /**
   * How often (ms) the sweeper looks for sagas whose next job was never stored (a process died
   * between the two writes) and stores it. 0: no sweeper.
   * @default 30000
   */
  sweepInterval?: number;
  /** How long (ms) a saga must have been idle before the sweeper looks at it. @default 60000 */
  sweepAfter?: number;
}

/** The `sagas` option after defaults. */
export interface ResolvedSagasOptions {
  readonly store: 'memory' | 'redis' | 'postgres' | undefined;
  readonly postgres: string | PostgresConnectionOptions | undefined;
  readonly sweepInterval: number;
  readonly sweepAfter: number;
}

const KEYS = ['store', 'postgres', 'sweepInterval', 'sweepAfter'];

/** Checks the `sagas` option. @throws InvalidOptionError */
export function resolveSagasOptions(value: unknown): ResolvedSagasOptions {
  const o = (value ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) {
    throw new InvalidOptionError('sagas', value, 'an options object');
  }
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) {
      throw new InvalidOptionError(
        `sagas.${key}`,
        o[key],
        `no such option (allowed: ${KEYS.join(', ')})`,
      );
    }
  }
  if (o.store !== undefined && !['memory', 'redis', 'postgres'].includes(o.store as string)) {
    throw new InvalidOptionError('sagas.store', o.store, "'memory', 'redis' or 'postgres'");
  }
  if (
    o.postgres !== undefined &&
    typeof o.postgres !== 'string' &&
    (o.postgres === null || typeof o.postgres !== 'object')
  ) {
    throw new InvalidOptionError(
      'sagas.postgres',
      o.postgres,
      'a postgres:// URL or connection options',
    );
  }
  const sweepInterval = o.sweepInterval ?? 30_000;
  assertInteger('sagas.sweepInterval', sweepInterval, 0);
  const sweepAfter = o.sweepAfter ?? 60_000;
  assertInteger('sagas.sweepAfter', sweepAfter, 0);
  return {
    store: o.store as ResolvedSagasOptions['store'],
    postgres: o.postgres as ResolvedSagasOptions['postgres'],
    sweepInterval,
    sweepAfter,
  };
}
