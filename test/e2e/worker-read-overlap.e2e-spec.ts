import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { MemoryQueueTransport } from '../../lib/queue/memory/memory-queue.transport.js';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class SyncListener {
  handled = 0;

  /** Sync and fast: the worker runs a whole read in one go, reading ahead. */
  @OnEvent('overlap.job')
  @ShouldQueue({ queue: 'overlap' })
  handle(_event: EventEnvelope<{ n: number }>): void {
    this.handled++;
  }
}

const apps: INestApplicationContext[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('Worker: the next read goes out while sync handlers run the last one', () => {
  it('lets the transport start a read before the jobs already read have all run', async () => {
    const app = await createTestApp({ providers: [SyncListener] }, { worker: { concurrency: 2 } });
    apps.push(app);
    const listener = app.get(SyncListener);
    // Per reserve call: jobs read before it that had not run yet when the transport got to
    // work on it (a microtask after the call). Zero for every call when the worker runs the
    // rest of a read before the transport can send the next one.
    const unrunAtStart: number[] = [];
    let read = 0;
    const reserve = MemoryQueueTransport.prototype.reserve;
    vi.spyOn(MemoryQueueTransport.prototype, 'reserve').mockImplementation(function (
      this: MemoryQueueTransport,
      ...args: Parameters<MemoryQueueTransport['reserve']>
    ) {
      void Promise.resolve().then(() => unrunAtStart.push(read - listener.handled));
      return reserve.apply(this, args).then((jobs) => {
        read += jobs.length;
        return jobs;
      });
    });
    await app
      .get(EventBus)
      .emitMany(Array.from({ length: 3000 }, (_, n) => ({ name: 'overlap.job', data: { n } })));
    await waitFor(() => listener.handled === 3000, { timeoutMs: 20_000 });
    expect(Math.max(...unrunAtStart)).toBeGreaterThan(0);
  });
});
