import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, OnEvent, ShouldQueue } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { useRedisServer } from '../fixtures/use-redis-server.js';

const QUEUES = 16;
const handled = new Set<number>();

/** One queued listener per queue (`q0` … `q15`), all on one class. */
@Injectable()
class ManyQueues {}
for (let i = 0; i < QUEUES; i++) {
  const method = function (): void {
    handled.add(i);
  };
  Object.defineProperty(ManyQueues.prototype, `on${i}`, { value: method, writable: true });
  const descriptor = Object.getOwnPropertyDescriptor(ManyQueues.prototype, `on${i}`)!;
  ShouldQueue({ queue: `q${i}` })(ManyQueues.prototype, `on${i}`, descriptor);
  OnEvent(`many.e${i}`)(ManyQueues.prototype, `on${i}`, descriptor);
}

const rig = useRedisServer();
let app: INestApplicationContext | undefined;
const warnings: Error[] = [];
const onWarning = (warning: Error): void => void warnings.push(warning);

afterEach(async () => {
  process.off('warning', onWarning);
  await app?.close();
  app = undefined;
});

describe('Worker: many queues in one process', () => {
  it.each(['memory', 'redis'] as const)(
    'runs %s queues beyond ten without a MaxListenersExceededWarning on its shutdown signal',
    async (kind) => {
      process.on('warning', onWarning);
      const redis = kind === 'redis' ? { redis: rig.server.url, prefix: 'many-queues' } : {};
      app = await createTestApp(
        { providers: [ManyQueues] },
        { ...redis, worker: { concurrency: 20 } },
      );
      const bus = app.get(EventBus);
      handled.clear();
      for (let i = 0; i < QUEUES; i++) await bus.emit(`many.e${i}`, {});
      await waitFor(() => handled.size === QUEUES);
      await app.close();
      app = undefined;
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    },
  );
});
