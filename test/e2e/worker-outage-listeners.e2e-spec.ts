import { getEventListeners } from 'node:events';
import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OnEvent, QUEUE_TRANSPORT, ShouldQueue } from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class IdleListener {
  @OnEvent('outage.job')
  @ShouldQueue({ queue: 'outage' })
  handle(): void {}
}

let server: RedisServer;
let app: INestApplicationContext | undefined;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  server?.resume();
  await server?.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  server.resume();
  await app?.close();
  app = undefined;
});

describe('Worker: a long outage leaks no listeners', () => {
  it('keeps the abort listeners of its signal flat and emits no MaxListenersExceededWarning', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      app = await createTestApp(
        { providers: [IdleListener] },
        // A frozen Redis fails every command after 250 ms: reads fail and the loop backs off (short,
        // but long enough for the boot's own commands on a loaded machine).
        { redis: server.url, prefix: `outage-${process.pid}`, redisCommandTimeout: 250 },
      );
      const transport = app.get<QueueTransport>(QUEUE_TRANSPORT);
      let failures = 0;
      let signal: AbortSignal | undefined;
      const reserve = transport.reserve.bind(transport);
      transport.reserve = (queue, max, stopping) => {
        signal = stopping;
        return reserve(queue, max, stopping).catch((error: unknown) => {
          failures++;
          throw error;
        });
      };
      // Redis frozen (SIGSTOP): every read fails until it resumes.
      server.pause();
      await waitFor(() => failures >= 2, { timeoutMs: 30_000, message: '2 failed reads' });
      const listeners = (): number => getEventListeners(signal!, 'abort').length;
      const early = listeners();
      await waitFor(() => failures >= 6, { timeoutMs: 60_000, message: '6 failed reads' });
      expect(listeners()).toBeLessThanOrEqual(early);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 120_000);
});
