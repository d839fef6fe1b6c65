import type { EventEnvelope } from '../event/event-envelope.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { PostgresEventStoreOptions } from './postgres/postgres.event-store.js';
import { assertSchemaName } from './postgres/postgres-schema.js';
import { assertOptionsObject, toPatterns } from './event-store.validation.js';

/** Connection of the PostgreSQL event store, as given to `forRoot({ store: { postgres } })`. */
export type PostgresConnectionOptions = Pick<
  PostgresEventStoreOptions,
  'connectionString' | 'pool' | 'poolSize' | 'schema' | 'createSchema' | 'pollInterval'
>;

/** The `store` option of `EventsModule.forRoot`: the event store's backend and what it records. */
export interface EventStoreOptions {
  /**
   * Append emitted events to the store, with their metadata, before their queued jobs are stored:
   * `true` for every event, or the patterns of the events to record (`['order.**']`).
   * @default false (nothing is recorded; the store is still injectable)
   */
  record?: boolean | string[];
  /**
   * The PostgreSQL backend: a `postgres://` URL or connection options (the `pg` package must be
   * installed). Without it the store lives in memory and is lost on exit.
   * @default undefined (in-memory store)
   */
  postgres?: string | PostgresConnectionOptions;
  /**
   * The stream a recorded event is appended to.
   * @default the event's `metadata.streamId`, else `metadata.aggregateId`, else its name
   */
  streamId?: (event: EventEnvelope) => string;
  /**
   * Events fetched per round trip when reading, subscribing and replaying.
   * @default 500
   */
  pageSize?: number;
}

/** The `store` option after defaults and validation. */
export interface ResolvedEventStoreOptions {
  /** `true` for every event, the patterns to record, or `false`. */
  readonly record: boolean | readonly string[];
  readonly postgres: PostgresConnectionOptions | undefined;
  readonly streamId: (event: EventEnvelope) => string;
  readonly pageSize: number;
}

const STORE_OPTIONS = ['record', 'postgres', 'streamId', 'pageSize'];
const POSTGRES_OPTIONS = [
  'connectionString',
  'pool',
  'poolSize',
  'schema',
  'createSchema',
  'pollInterval',
];

/** The default stream of a recorded event. */
export function defaultStreamId(event: EventEnvelope): string {
  return event.metadata.streamId ?? event.metadata.aggregateId ?? event.name;
}

function resolvePostgres(value: unknown): PostgresConnectionOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (!/^postgres(ql)?:\/\/./.test(value)) {
      throw new InvalidOptionError('store.postgres', value, 'a postgres:// URL or options');
    }
    return { connectionString: value };
  }
  assertOptionsObject('store.postgres', value, POSTGRES_OPTIONS);
  const options = value as PostgresConnectionOptions;
  if (options.pool === undefined && typeof options.connectionString !== 'string') {
    throw new InvalidOptionError(
      'store.postgres.connectionString',
      options.connectionString,
      'a postgres:// URL (or give a pool)',
    );
  }
  if (options.schema !== undefined) assertSchemaName(options.schema);
  if (options.createSchema !== undefined && typeof options.createSchema !== 'boolean') {
    throw new InvalidOptionError('store.postgres.createSchema', options.createSchema, 'a boolean');
  }
  for (const key of ['poolSize', 'pollInterval'] as const) {
    const n = options[key];
    if (n !== undefined && (!Number.isSafeInteger(n) || n < (key === 'poolSize' ? 1 : 10))) {
      throw new InvalidOptionError(
        `store.postgres.${key}`,
        n,
        `an integer >= ${key === 'poolSize' ? 1 : 10}`,
      );
    }
  }
  return { ...options };
}

/**
 * Validates the `store` module option and applies its defaults. Pure.
 *
 * @throws InvalidOptionError naming the sub-option.
 */
export function resolveEventStoreOptions(value: unknown): ResolvedEventStoreOptions {
  assertOptionsObject('store', value, STORE_OPTIONS);
  const options = (value ?? {}) as EventStoreOptions;
  let record: ResolvedEventStoreOptions['record'] = false;
  if (typeof options.record === 'boolean') record = options.record;
  else if (options.record !== undefined) {
    if (!Array.isArray(options.record) || options.record.length === 0) {
      throw new InvalidOptionError('store.record', options.record, 'a boolean or patterns');
    }
    record = toPatterns('store.record', options.record) ?? true;
  }
  if (options.streamId !== undefined && typeof options.streamId !== 'function') {
    throw new InvalidOptionError(
      'store.streamId',
      options.streamId,
      'a function (event) => string',
    );
  }
  const pageSize = options.pageSize ?? 500;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 100_000) {
    throw new InvalidOptionError('store.pageSize', pageSize, 'an integer from 1 to 100000');
  }
  return {
    record,
    postgres: resolvePostgres(options.postgres),
    streamId: options.streamId ?? defaultStreamId,
    pageSize,
  };
}
