import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventsModule,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { MemoryQueueTransport } from '../../lib/queue/memory/memory-queue.transport.js';
import type { ReservedJob } from '../../lib/queue/queue-job.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class HangingListener {
  readonly signals: AbortSignal[] = [];

  @OnEvent('twice.run')
  @ShouldQueue({ queue: 'twice', tries: 1 })
  handle(_event: EventEnvelope, context: ListenerContext): Promise<void> {
    this.signals.push(context.signal);
    // Never settles by itself: only the worker's shutdown abort ends it.
    return new Promise((_, reject) => context.signal.addEventListener('abort', reject));
  }
}

/**
 * Hands every job out twice, as a second delivery with its own receipt: what a worker sees when
 * its own entry is reclaimed back to it, or when it gets two copies of an inbound fan-out.
 */
class TwiceDeliveringTransport extends MemoryQueueTransport {
  readonly beats: ReservedJob[][] = [];

  override async reserve(queue: string, max: number, signal: AbortSignal): Promise<ReservedJob[]> {
    const jobs = await super.reserve(queue, max, signal);
    return jobs.flatMap((job) => [job, { ...job, receipt: `${job.receipt}-again` }]);
  }

  override async heartbeat(jobs: readonly ReservedJob[]): Promise<readonly ReservedJob[]> {
    this.beats.push([...jobs]);
    return [];
  }
}

describe('Worker: deliveries are tracked by receipt, not by job id', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.close();
    app = undefined;
  });

  it('heartbeats both deliveries of one job id and awaits (then aborts) both at shutdown', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const transport = new TwiceDeliveringTransport();
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventsModule.forRoot({
          visibilityTimeout: 300,
          worker: { concurrency: 2, shutdownTimeout: 200 },
        }),
      ],
      providers: [HangingListener],
    })
      .overrideProvider(QUEUE_TRANSPORT)
      .useValue(transport)
      .compile();
    app = await moduleRef.init();
    await app.get(EventBus).emit('twice.run', {});
    const listener = app.get(HangingListener);
    await waitFor(() => listener.signals.length === 2);
    await waitFor(() => transport.beats.some((beat) => beat.length === 2), {
      message: 'a heartbeat carrying both deliveries',
    });
    const beat = transport.beats.find((b) => b.length === 2)!;
    expect(new Set(beat.map((job) => job.id)).size).toBe(1);
    expect(new Set(beat.map((job) => job.receipt)).size).toBe(2);

    await app.close();
    app = undefined;
    // Both were still running at the deadline: both were aborted, none was forgotten.
    expect(listener.signals.map((s) => s.aborted)).toEqual([true, true]);
  });
});
