import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventsModule,
  LostOwnershipError,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { MemoryQueueTransport } from '../../lib/queue/memory/memory-queue.transport.js';
import { CONSUMER_GROUP, RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import type { ReservedJob } from '../../lib/queue/queue-job.js';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class LongJob {
  readonly started: string[] = [];
  readonly aborted: unknown[] = [];

  /** A long job that honours its signal: it stops (and records why) once the signal fires. */
  @OnEvent('long.run')
  @ShouldQueue({ queue: 'long', tries: 1 })
  handle(event: EventEnvelope, context: ListenerContext): Promise<void> {
    this.started.push(event.id);
    return new Promise((_, reject) =>
      context.signal.addEventListener('abort', () => {
        this.aborted.push(context.signal.reason);
        reject(context.signal.reason as Error);
      }),
    );
  }
}

/** The memory transport, where the test can hand a running job to "another worker". */
class StealableTransport extends MemoryQueueTransport {
  readonly stolen = new Set<string>();

  override async heartbeat(jobs: readonly ReservedJob[]): Promise<readonly ReservedJob[]> {
    const lost = await super.heartbeat(jobs);
    return [...lost, ...jobs.filter((job) => this.stolen.has(job.id))];
  }
}

function expectLostOwnership(reason: unknown): void {
  expect(reason).toBeInstanceOf(LostOwnershipError);
  const error = reason as LostOwnershipError;
  expect(error.name).toBe('LostOwnershipError');
  expect(error.code).toBe('EVENTS_LOST_OWNERSHIP');
  expect(error.message).toContain('lost-ownership');
}

let server: RedisServer;
let redis: Redis;
let seq = 0;
let app: INestApplicationContext | undefined;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await app?.close();
  app = undefined;
});

describe('Worker: lost ownership aborts the handler', () => {
  it('memory: a heartbeat that finds the job taken aborts its signal with lost-ownership, and the job is not settled here', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const transport = new StealableTransport();
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot({ visibilityTimeout: 300 })],
      providers: [LongJob],
    })
      .overrideProvider(QUEUE_TRANSPORT)
      .useValue(transport)
      .compile();
    app = await moduleRef.init();
    const sent = await app.get(EventBus).emit('long.run', {});
    const job = app.get(LongJob);
    await waitFor(() => job.started.length === 1);
    transport.stolen.add(`${sent.id}:LongJob.handle`);
    await waitFor(() => job.aborted.length === 1, { message: 'the handler aborted' });
    expectLostOwnership(job.aborted[0]);
    // Its outcome is the new holder's: this worker neither failed nor dead-lettered it.
    expect(await app.get(EventQueues).counts('long')).toMatchObject({ failed: 0, dead: 0 });
  });

  it('redis: a long job whose entry another consumer claimed (its worker froze) aborts with lost-ownership', async (ctx) => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const prefix = `lost-${++seq}`;
    app = await createTestApp(
      { providers: [LongJob] },
      { redis: server.url, prefix, visibilityTimeout: 600 },
    );

    await app.get(EventBus).emit('long.run', {});
    const job = app.get(LongJob);
    await waitFor(() => job.started.length === 1);
    const transport = app.get<QueueTransport>(QUEUE_TRANSPORT);
    const probe = await transport.heartbeat([
      {
        id: 'probe',
        queue: 'long',
        listener: 'LongJob.handle',
        payload: '{}',
        attempt: 1,
        enqueuedAt: 0,
        receipt: '1-1/1',
      },
    ]);
    // TODO(issue 12): the Redis transport reports lost jobs from its heartbeat in the transport
    // branch; until it is merged this test has nothing to observe.
    if (probe.length === 0) ctx.skip();
    const stream = new RedisKeys(prefix).queue('long').stream;
    const [[entry]] = (await redis.xpending(stream, CONSUMER_GROUP, '-', '+', 10)) as [
      string,
      string,
      number,
      number,
    ][];
    // What a worker that reclaimed the entry of a frozen worker does.
    await redis.xclaim(stream, CONSUMER_GROUP, 'another-worker', 0, entry);
    await waitFor(() => job.aborted.length === 1, { message: 'the handler aborted' });
    expectLostOwnership(job.aborted[0]);
  });
});
