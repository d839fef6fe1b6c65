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

  it('dead-letters a reclaimed job whose attempts are used up instead of running it again', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const transport = new ReclaimingTransport(3);
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot()],
      providers: [CrashListener],
    })
      .overrideProvider(QUEUE_TRANSPORT)
      .useValue(transport)
      .compile();
    app = await moduleRef.init();
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
