import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventsModule,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import { MemoryQueueTransport } from '../../lib/queue/memory/memory-queue.transport.js';
import { LOST_ATTEMPTS_ALLOWED } from '../../lib/queue/worker.js';
import type { ReservedJob } from '../../lib/queue/queue-job.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class CrashListener {
  readonly calls: EventEnvelope[] = [];
  readonly failures: unknown[] = [];

  @OnEvent('crash.loop')
  @ShouldQueue({ queue: 'crash', tries: 3, onFailed: 'failed' })
  handle(event: EventEnvelope) {
    this.calls.push(event);
  }

  failed(_event: EventEnvelope, error: unknown) {
    this.failures.push(error);
  }
}

/** A transport whose deliveries look like reclaims after workers died mid-job. */
class ReclaimingTransport extends MemoryQueueTransport {
  constructor(private readonly extraAttempts: number) {
    super();
  }

  override async reserve(queue: string, max: number, signal: AbortSignal): Promise<ReservedJob[]> {
    const jobs = await super.reserve(queue, max, signal);
    return jobs.map((job) => ({ ...job, attempt: job.attempt + this.extraAttempts }));
  }

  override async deadLetter(
    job: ReservedJob,
    failure: Parameters<MemoryQueueTransport['deadLetter']>[1],
  ) {
    return super.deadLetter({ ...job, attempt: job.attempt - this.extraAttempts }, failure);
  }
}

describe('Worker', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.close();
  });

  async function start(transport: MemoryQueueTransport) {
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot()],
      providers: [CrashListener],
    })
      .overrideProvider(QUEUE_TRANSPORT)
      .useValue(transport)
      .compile();
    app = await moduleRef.init();
    return app;
  }

  it('runs a reclaimed job again although the reclaim counted as an attempt', async () => {
    // tries 3; the delivery looks like attempt 5: two reclaims past the tries are still allowed.
    app = await start(new ReclaimingTransport(4));
    await app.get(EventBus).emit('crash.loop', {});
    const queues = app.get(EventQueues);
    await waitFor(async () => (await queues.counts('crash')).completed === 1);
    expect(app.get(CrashListener).calls.map((e) => e.attempt)).toEqual([5]);
  });

  it('dead-letters a reclaimed job that has had every allowed attempt instead of running it again', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    app = await start(new ReclaimingTransport(3 + LOST_ATTEMPTS_ALLOWED));
    await app.get(EventBus).emit('crash.loop', {});
    const queues = app.get(EventQueues);
    await waitFor(async () => (await queues.counts('crash')).dead === 1);
    const listener = app.get(CrashListener);
    expect(listener.calls).toHaveLength(0);
    expect(listener.failures).toHaveLength(1);
    const [dead] = await queues.listDead('crash');
    expect(dead.error).toContain('Attempts used up');
  });
});
