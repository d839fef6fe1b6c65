import type { Provider } from '@nestjs/common';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { RedisConnectionFactory } from '../redis/redis-connection.factory.js';
import { SAGA_STORE } from './saga.constants.js';
import type { SagaStore } from './saga.store.js';
import { MemorySagaStore } from './memory.saga-store.js';
import { RedisSagaStore } from '../redis/redis-saga.store.js';
import { createPostgresSagaStore } from './postgres.saga-store.js';
import { SagaCatalog } from './saga.catalog.js';
import { SagaManager } from './saga.manager.js';
import { SagaExplorer } from './saga.explorer.js';
import { SagaSweeper } from './saga.sweeper.js';

/** The saga store of these options. */
async function createSagaStore(options: ResolvedEventsOptions): Promise<SagaStore> {
  const kind = options.sagas.store ?? (options.redis === undefined ? 'memory' : 'redis');
  if (kind === 'memory') return new MemorySagaStore();
  if (kind === 'redis') {
    if (options.redis === undefined) {
      throw new InvalidOptionError(
        'sagas.store',
        'redis',
        "'memory' or 'postgres' (no redis option is set)",
      );
    }
    const factory = new RedisConnectionFactory(
      options.redis,
      `${options.prefix}:sagas`,
      options.redisCommandTimeout,
    );
    return new RedisSagaStore(factory, options.prefix, options.dedupeWindowMs);
  }
  const postgres = options.sagas.postgres ?? options.store.postgres;
  if (postgres === undefined) {
    throw new InvalidOptionError(
      'sagas.postgres',
      undefined,
      "a postgres:// URL or connection options (or store.postgres) for sagas.store 'postgres'",
    );
  }
  return createPostgresSagaStore(postgres);
}

/** The saga providers of `EventsModule`. */
export const sagaProviders: Provider[] = [
  { provide: SAGA_STORE, useFactory: createSagaStore, inject: [EVENTS_OPTIONS] },
  SagaCatalog,
  SagaManager,
  SagaExplorer,
  SagaSweeper,
];

/** What `EventsModule` exports of sagas. */
export const sagaExports = [SagaManager];
