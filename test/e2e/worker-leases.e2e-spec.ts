import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  ShouldQueue,
  UseEventMiddleware,
  WithoutOverlapping,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class HungListener {
  readonly attempts: number[] = [];
  readonly failures: unknown[] = [];

  /** Never settles and ignores its signal: only the timeout ends each attempt. */
  @OnEvent('hung.job')
  @ShouldQueue({ queue: 'hung', tries: 3, timeout: 200, onFailed: 'failed' })
  @UseEventMiddleware(WithoutOverlapping('hung', { leaseMs: 300 }))
  handle(_event: EventEnvelope, context: ListenerContext): Promise<void> {
    this.attempts.push(context.attempt);
    return new Promise(() => undefined);
  }

  failed(_event: EventEnvelope, error: unknown): void {
    this.failures.push(error);
  }
}

let server: RedisServer;
let seq = 0;
let app: INestApplicationContext | undefined;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await app?.close();
  app = undefined;
});

describe.each([
  ['memory', (): EventsModuleOptions => ({})],
  ['redis', (): EventsModuleOptions => ({ redis: server.url, prefix: `lease-${++seq}` })],
])('Coordination leases end with the attempt (%s)', (_name, options) => {
  it('a hung handler stopped by its timeout frees its WithoutOverlapping key: 3 attempts, then one dead letter and one failure hook', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    app = await createTestApp({ providers: [HungListener] }, options());
    await app.get(EventBus).emit('hung.job', {});
    const queues = app.get(EventQueues);
    const listener = app.get(HungListener);
    // The failure hook runs once the dead letter is stored.
    await waitFor(() => listener.failures.length === 1, {
      timeoutMs: 20_000,
      message: 'the job dead-lettered and its failure hook called',
    });
    expect((await queues.counts('hung')).dead).toBe(1);
    expect(listener.attempts).toEqual([1, 2, 3]);
    expect(listener.failures).toHaveLength(1);
    const [dead] = await queues.listDead('hung');
    expect(dead.reason).toBe('timeout');
  }, 30_000);
});
