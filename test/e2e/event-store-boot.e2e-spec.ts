import { Injectable, Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventStore, MemoryEventStore, MissingPeerDependencyError } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

@Injectable()
class Nothing {}

describe('event store at boot', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.doUnmock('pg');
  });

  it('fails the boot, naming the package, when store.postgres is set and pg is not installed', async () => {
    vi.doMock('pg', () => {
      throw Object.assign(new Error("Cannot find package 'pg'"), { code: 'ERR_MODULE_NOT_FOUND' });
    });
    const booting = createTestApp(
      { providers: [Nothing] },
      { store: { postgres: 'postgres://127.0.0.1:5432/never-used' } },
    );
    const error = await booting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingPeerDependencyError);
    expect((error as MissingPeerDependencyError).packageName).toBe('pg');
    expect((error as Error).message).toContain('store.postgres');
    expect((error as Error).message).toContain('npm install pg');
  });

  describe('on Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('warns at boot when store.record keeps a per-process in-memory history', async () => {
      const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const app = await createTestApp(
        { providers: [Nothing] },
        { redis: redis.url, prefix: 'store-warn', store: { record: true } },
      );
      try {
        expect(app.get(EventStore)).toBeInstanceOf(MemoryEventStore);
        const messages = warn.mock.calls.map(([message]) => String(message));
        expect(messages.some((m) => m.includes('in-memory event store'))).toBe(true);
      } finally {
        await app.close();
      }
    });

    it('does not warn when nothing is recorded', async () => {
      const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const app = await createTestApp(
        { providers: [Nothing] },
        { redis: redis.url, prefix: 'store-quiet' },
      );
      await app.close();
      const messages = warn.mock.calls.map(([message]) => String(message));
      expect(messages.some((m) => m.includes('in-memory event store'))).toBe(false);
    });
  });
});
