import type { INestApplicationContext, ModuleMetadata } from '@nestjs/common';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { EventsModuleOptions } from 'nestjs-events';
import { createTestApp } from './create-test-app.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

/**
 * Test apps of one transport for a `describe.each(['memory', 'redis'])` block: on `redis`, a
 * redis-server of the block's own (started before, stopped after) and a fresh prefix per app.
 * Each test's app is closed after it.
 */
export function transportApps(kind: 'memory' | 'redis', name: string) {
  let server: RedisServer | undefined;
  let app: INestApplicationContext | undefined;
  let prefix: string | undefined;
  let seq = 0;
  beforeAll(async () => {
    if (kind === 'redis') server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  return {
    /** The block's redis-server (`redis` only). */
    get server(): RedisServer | undefined {
      return server;
    },
    /** The prefix of the last app started (`redis` only). */
    get prefix(): string | undefined {
      return prefix;
    },
    /** Builds and initialises an app (`EventsModule.forRoot` with `options`, on this transport). */
    async start(
      metadata: ModuleMetadata,
      options: EventsModuleOptions = {},
    ): Promise<INestApplicationContext> {
      prefix = server === undefined ? undefined : `${name}-${process.pid}-${++seq}`;
      const redis = server === undefined ? {} : { redis: server.url, prefix };
      app = await createTestApp(metadata, { ...redis, ...options });
      return app;
    },
  };
}
