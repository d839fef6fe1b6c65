import type { INestApplicationContext, ModuleMetadata } from '@nestjs/common';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { EventsModuleOptions } from 'nestjs-events';
import { createTestApp } from './create-test-app.js';
import { ensureBuiltCli, runCli, type CliRun } from './cli-runner.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

/** What a CLI spec shares: the built binary, one redis-server, and apps closed after each test. */
export interface CliFixture {
  /** The suite's redis-server (started in `beforeAll`). */
  readonly server: RedisServer;
  /** Builds an app (closed after the test); `options` as given, so pass `redis` when wanted. */
  app(metadata: ModuleMetadata, options?: EventsModuleOptions): Promise<INestApplicationContext>;
  /** Closes `app` after the test. */
  track(app: INestApplicationContext): INestApplicationContext;
  /** Runs the built binary against the suite's Redis under `prefix`. */
  cli(prefix: string, ...args: string[]): Promise<CliRun>;
}

/**
 * Registers the hooks of a CLI spec (call it inside its `describe`): builds the CLI when dist/
 * has none, starts a redis-server for the suite and stops it after, closes each test's apps.
 */
export function useCliFixture(): CliFixture {
  let started: RedisServer | undefined;
  const apps: INestApplicationContext[] = [];
  beforeAll(async () => {
    ensureBuiltCli();
    started = await startRedisServer();
  }, 240_000);
  afterAll(async () => {
    await started?.stop();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  const fixture: CliFixture = {
    get server(): RedisServer {
      if (started === undefined) throw new Error('the CLI fixture has not started its Redis yet');
      return started;
    },
    async app(metadata, options = {}) {
      return fixture.track(await createTestApp(metadata, options));
    },
    track(app) {
      apps.push(app);
      return app;
    },
    cli: (prefix, ...args) => runCli(['--redis', fixture.server.url, '--prefix', prefix, ...args]),
  };
  return fixture;
}
