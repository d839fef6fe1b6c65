import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  InvalidOptionError,
  OnEvent,
  ShouldQueue,
  type QueueActivity,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { useRedisTransports } from '../fixtures/use-redis-transports.js';
import { waitFor } from '../support/wait-for.js';
import { collectWatch } from '../support/watch-collector.js';

/** Every job dies at its first attempt: the dead letters of a burst are many. */
@Injectable()
class FailingReports {
  @OnEvent('paced.*')
  @ShouldQueue({ queue: 'paced', tries: 1 })
  build() {
    throw new Error('no printer');
  }
}

const kindOf = (entry: QueueActivity): [string, string | undefined] => [
  entry.type,
  entry.job.payload?.name,
];

describe('EventQueues.watch({ readIntervalMs }) on Redis', () => {
  const rig = useRedisTransports();

  it('samples a burst past one read (100 jobs) and goes on from the newest; reads every dead letter', async () => {
    const app = rig.track(
      await createTestApp(
        { providers: [FailingReports] },
        { redis: rig.server.url, prefix: rig.prefix('paced') },
      ),
    );
    const bus = app.get(EventBus);
    const queues = app.get(EventQueues);
    await bus.emit('paced.warmup', {}); // the queue exists before the watches start
    await queues.drain();
    const every = await collectWatch(queues, { queues: ['paced'] }, kindOf);
    const paced = await collectWatch(queues, { queues: ['paced'], readIntervalMs: 50 }, kindOf);
    await queues.pause('paced'); // the burst waits in the stream, where both watches read it
    await bus.emitMany(
      Array.from({ length: 300 }, (_, i) => ({ name: 'paced.burst', data: { i } })),
    );
    await waitFor(() => every.seen.length === 300 && paced.seen.length > 0, {
      message: 'the burst seen',
    });
    await bus.emit('paced.after', {});
    const afterSeen = (seen: [string, string | undefined][]) =>
      seen.some(([type, name]) => type === 'job' && name === 'paced.after');
    await waitFor(() => afterSeen(every.seen) && afterSeen(paced.seen), {
      message: 'the job after the burst seen by both',
    });
    const burst = (seen: [string, string | undefined][]) =>
      seen.filter(([type, name]) => type === 'job' && name === 'paced.burst').length;
    expect(burst(every.seen)).toBe(300);
    // Paced: a full read, then on from the newest job, not through the other 200.
    expect(burst(paced.seen)).toBeGreaterThan(0);
    expect(burst(paced.seen)).toBeLessThan(300);

    await queues.resume('paced');
    const dead = (seen: [string, string | undefined][]) =>
      seen.filter(([type]) => type === 'dead').length;
    await waitFor(() => dead(every.seen) === 301 && dead(paced.seen) === 301, {
      message: 'every dead letter seen by both',
      timeoutMs: 30_000,
    });
    await Promise.all([every.stop(), paced.stop()]);
  });

  it("keeps the queue's watching flag alive across a long interval", async () => {
    const prefix = rig.prefix('paced-flag');
    const app = rig.track(
      await createTestApp({ providers: [FailingReports] }, { redis: rig.server.url, prefix }),
    );
    const queues = app.get(EventQueues);
    const watch = await collectWatch(queues, { queues: ['paced'], readIntervalMs: 5000 }, kindOf);
    // Renewed at most once per read, so it must outlive a whole interval (plus the blocks).
    expect(await rig.redis.pttl(`${prefix}:{${prefix}:paced}:watching`)).toBeGreaterThan(5000);
    await watch.stop();
  });

  it('refuses a readIntervalMs that is not a whole number of ms from 0 to 60,000', async () => {
    const app = rig.track(
      await createTestApp(
        { providers: [FailingReports] },
        { redis: rig.server.url, prefix: rig.prefix('paced-bad') },
      ),
    );
    const queues = app.get(EventQueues);
    for (const bad of [-1, 1.5, 60_001, '100']) {
      await expect(
        queues.watch({ readIntervalMs: bad as number }),
        String(bad),
      ).rejects.toBeInstanceOf(InvalidOptionError);
    }
  });
});
