import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class SwitchableListener {
  isHanging = false;
  readonly handled: number[] = [];
  hung = 0;

  /** Fast (so its worker reads ahead), until the test makes it hang. */
  @OnEvent('ahead.job')
  @ShouldQueue({ queue: 'ahead' })
  handle(event: EventEnvelope<{ n: number }>): Promise<void> | void {
    if (this.isHanging) {
      this.hung++;
      return new Promise(() => undefined);
    }
    this.handled.push(event.data.n);
  }
}

/** The same on a queue with groups: its take hands jobs out in fair order, read ahead too. */
@Injectable()
class GroupedSwitchableListener extends SwitchableListener {
  @OnEvent('ahead.grouped')
  @ShouldQueue({
    queue: 'ahead-grouped',
    group: (e: EventEnvelope<{ n: number }>) => `t${e.data.n % 3}`,
  })
  override handle(event: EventEnvelope<{ n: number }>): Promise<void> | void {
    return super.handle(event);
  }
}

let server: RedisServer;
const apps: INestApplicationContext[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('Worker: read-ahead is bounded in time', () => {
  it.each([
    { kind: 'plain', Listener: SwitchableListener, name: 'ahead.job', queue: 'ahead' },
    // Given back to the heads of their groups (their slots freed).
    {
      kind: 'grouped',
      Listener: GroupedSwitchableListener,
      name: 'ahead.grouped',
      queue: 'ahead-grouped',
    },
  ])(
    'gives $kind jobs read ahead back when its handlers hang, and an idle worker runs them',
    async ({ kind, Listener, name, queue }) => {
      vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const prefix = `ahead-${kind}-${process.pid}`;
      const options = {
        redis: server.url,
        prefix,
        worker: { concurrency: 2, shutdownTimeout: 100 },
      };
      const first = await createTestApp({ providers: [Listener] }, options);
      apps.push(first);
      const bus = first.get(EventBus);
      const queues = first.get(EventQueues);
      const busy = first.get(Listener);
      // Fast jobs first: the worker measures its handlers and starts reading ahead.
      await Promise.all(Array.from({ length: 200 }, (_, n) => bus.emit(name, { n })));
      await waitFor(() => busy.handled.length === 200, { timeoutMs: 30_000 });

      busy.isHanging = true;
      await Promise.all(Array.from({ length: 50 }, (_, n) => bus.emit(name, { n: 200 + n })));
      // Two hang in the slots; others wait in the first worker's read-ahead (pending for it).
      await waitFor(() => busy.hung === 2);
      await waitFor(async () => (await queues.counts(queue)).active > 2, {
        message: 'jobs read ahead by the first worker',
      });

      const second = await createTestApp({ providers: [Listener] }, options);
      apps.push(second);
      const idle = second.get(Listener);
      await waitFor(() => idle.handled.length === 48, {
        timeoutMs: 20_000,
        message: 'the idle worker ran the 48 jobs the busy one could not start',
      });
      expect(busy.hung).toBe(2);
    },
    60_000,
  );
});
