import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { MemoryQueueTransport } from '../../lib/queue/memory/memory-queue.transport.js';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class TenantListener {
  readonly handled: number[] = [];

  /** Fast: its worker reads ahead. */
  @OnEvent('tenant.job')
  @ShouldQueue({
    queue: 'tenant-ahead',
    group: (e: EventEnvelope<{ n: number }>) => `t${e.data.n % 3}`,
  })
  handle(event: EventEnvelope<{ n: number }>): void {
    this.handled.push(event.data.n);
  }
}

@Injectable()
class RateLimitedListener {
  readonly handled: number[] = [];

  @OnEvent('limited.job')
  @ShouldQueue({
    queue: 'limited-ahead',
    group: (e: EventEnvelope<{ n: number }>) => `t${e.data.n % 3}`,
    groupRateLimit: { max: 100_000, durationMs: 1000 },
  })
  handle(event: EventEnvelope<{ n: number }>): void {
    this.handled.push(event.data.n);
  }
}

const apps: INestApplicationContext[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** The `max` of every reserve call of the memory transport while `run` runs. */
async function reserveSizes(run: () => Promise<void>): Promise<number[]> {
  const sizes: number[] = [];
  const reserve = MemoryQueueTransport.prototype.reserve;
  vi.spyOn(MemoryQueueTransport.prototype, 'reserve').mockImplementation(function (
    this: MemoryQueueTransport,
    ...args: Parameters<MemoryQueueTransport['reserve']>
  ) {
    sizes.push(args[1]);
    return reserve.apply(this, args);
  });
  await run();
  return sizes;
}

/**
 * Runs `count` jobs through `Listener` (memory transport, concurrency 2): the `max` of every
 * reserve call, and the jobs in the order handled.
 */
async function drain(
  Listener: typeof TenantListener | typeof RateLimitedListener,
  name: string,
  count = 600,
): Promise<{ sizes: number[]; handled: number[] }> {
  const app = await createTestApp({ providers: [Listener] }, { worker: { concurrency: 2 } });
  apps.push(app);
  const { handled } = app.get(Listener);
  const sizes = await reserveSizes(async () => {
    await app
      .get(EventBus)
      .emitMany(Array.from({ length: count }, (_, n) => ({ name, data: { n } })));
    await waitFor(() => handled.length === count, { timeoutMs: 20_000 });
  });
  return { sizes, handled };
}

describe('Worker: grouped queues read ahead (fair order kept: jobs start as taken)', () => {
  it('reads grouped jobs ahead of its free slots when handlers are fast', async () => {
    const { sizes, handled } = await drain(TenantListener, 'tenant.job');
    expect(Math.max(...sizes)).toBeGreaterThan(2);
    // Round-robin over the three groups, each in emit order: a worker starts what it read in
    // the order it was taken.
    for (let k = 0; k < 3; k++) {
      const group = handled.filter((n) => n % 3 === k);
      expect(group).toEqual([...group].sort((a, b) => a - b));
    }
  });

  it('reads past 100 jobs ahead when handlers are fast (spreads the fixed cost of a take)', async () => {
    const { sizes, handled } = await drain(TenantListener, 'tenant.job', 3000);
    // Two free slots plus more than the 100 an earlier release read ahead at most; 400 at most.
    expect(Math.max(...sizes)).toBeGreaterThan(102);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(402);
    expect(handled).toHaveLength(3000);
  });

  it('never reads ahead on a queue with a group rate limit (a take counts the start)', async () => {
    const { sizes } = await drain(RateLimitedListener, 'limited.job');
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
  });
});
