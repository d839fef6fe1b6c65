import { Injectable, Logger, type INestApplicationContext, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventQueues,
  EventsModule,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import { serializeEnvelope } from '../../lib/event/event.serializer.js';
import { MemoryQueueTransport } from '../../lib/queue/memory/memory-queue.transport.js';
import { waitFor } from '../support/wait-for.js';

/** What the old worker has: another listener of the same queue, so it works on that queue. */
@Injectable()
class OtherListener {
  @OnEvent('other.thing')
  @ShouldQueue({ queue: 'deploy' })
  handle(): void {}
}

/** What the new release adds (the producer already stores its jobs). */
@Injectable()
class NewListener {
  readonly handled: string[] = [];

  @OnEvent('order.placed')
  @ShouldQueue({ queue: 'deploy' })
  handle(event: EventEnvelope): void {
    this.handled.push(event.id);
  }
}

/** The listener renamed from `OldName.handle`: jobs stored under the old id still run here. */
@Injectable()
class RenamedListener {
  readonly handled: string[] = [];

  @OnEvent('order.placed', { aliases: ['OldName.handle'] })
  @ShouldQueue({ queue: 'deploy' })
  handle(event: EventEnvelope): void {
    this.handled.push(event.id);
  }
}

let seq = 0;
const apps: INestApplicationContext[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  // Newest first: they share one transport, which the last one to close shuts.
  for (const app of apps.splice(0).reverse()) await app.close();
});

async function start(
  transport: MemoryQueueTransport,
  providers: Provider[],
  options: EventsModuleOptions = {},
): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [EventsModule.forRoot(options)],
    providers,
  })
    .overrideProvider(QUEUE_TRANSPORT)
    .useValue(transport)
    .compile();
  const app = await moduleRef.init();
  apps.push(app);
  return app;
}

/** Stores a job as a producer that has `listener` would. */
async function store(transport: MemoryQueueTransport, listener: string): Promise<string> {
  const id = `e${++seq}`;
  const payload = serializeEnvelope(
    { id, name: 'order.placed', data: {}, metadata: {}, timestamp: Date.now() },
    1 << 20,
  );
  await transport.enqueue([
    { id: `${id}:${listener}`, queue: 'deploy', listener, payload, delayMs: 0 },
  ]);
  return id;
}

describe('Worker: jobs of a listener it does not know', () => {
  it('puts them back during a rolling deploy, warning once per listener id, and a newer worker runs them', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const transport = new MemoryQueueTransport();
    const old = await start(transport, [OtherListener]);
    const ids = [
      await store(transport, 'NewListener.handle'),
      await store(transport, 'NewListener.handle'),
    ];
    await waitFor(() => warn.mock.calls.some(([m]) => String(m).includes('"NewListener.handle"')));

    const next = await start(transport, [NewListener]);
    const listener = next.get(NewListener);
    await waitFor(() => listener.handled.length === 2, { message: 'the new worker ran both' });
    expect(listener.handled.sort()).toEqual(ids.sort());
    expect(
      warn.mock.calls.filter(([m]) => String(m).includes('"NewListener.handle"')),
    ).toHaveLength(1);
    expect((await old.get(EventQueues).counts('deploy')).dead).toBe(0);
  });

  it('dead-letters them once the grace period is over, with an ERROR naming queue and listener', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const transport = new MemoryQueueTransport();
    const app = await start(transport, [OtherListener], {
      worker: { unknownListenerGraceMs: 300 },
    });
    await store(transport, 'Gone.handle');
    const queues = app.get(EventQueues);
    await waitFor(async () => (await queues.counts('deploy')).dead === 1);
    const [dead] = await queues.listDead('deploy');
    expect(dead.reason).toBe('unknown-listener');
    expect(dead.failedAt - dead.enqueuedAt).toBeGreaterThanOrEqual(300);
    const lines = error.mock.calls.map(([m]) => String(m)).filter((m) => m.includes('Gone.handle'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"deploy"');
  });

  it('runs jobs stored under a former id on the listener that lists it in aliases', async () => {
    const transport = new MemoryQueueTransport();
    const app = await start(transport, [RenamedListener]);
    const id = await store(transport, 'OldName.handle');
    const listener = app.get(RenamedListener);
    await waitFor(() => listener.handled.length === 1);
    expect(listener.handled).toEqual([id]);
  });
});
