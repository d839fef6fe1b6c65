import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

type Edit = EventEnvelope<{ doc: string; n: number }>;
const QUIET_MS = 1500;

@Injectable()
class Indexer {
  readonly runs: { doc: string; n: number; at: number }[] = [];

  @OnEvent('doc.edited')
  @ShouldQueue({ queue: 'index', debounce: { key: (e: Edit) => e.data.doc, delayMs: QUIET_MS } })
  reindex(event: Edit): void {
    this.runs.push({ ...event.data, at: Date.now() });
  }

  @OnEvent('doc.typed')
  @ShouldQueue({
    queue: 'index',
    debounce: { key: (e: Edit) => e.data.doc, delayMs: 300, maxDelayMs: 1000 },
  })
  autosave(event: Edit): void {
    this.runs.push({ ...event.data, at: Date.now() });
  }
}

/** `collect: true`: every event of the window, in emit order; `fail` fails a first attempt. */
@Injectable()
class Digest {
  readonly runs: { attempt: number; events: string[] }[] = [];

  @OnEvent('doc.commented')
  @ShouldQueue({
    queue: 'index',
    tries: 3,
    backoff: 10,
    debounce: { key: (e: Edit) => e.data.doc, delayMs: 300, collect: true },
  })
  send(events: Edit[], { attempt }: { attempt: number }): void {
    this.runs.push({ attempt, events: events.map((e) => `${e.data.doc}${e.data.n}`) });
    if (attempt === 1 && events.some((e) => e.data.doc === 'fail')) throw new Error('first try');
  }
}

let server: RedisServer;
let seq = 0;
const apps: INestApplicationContext[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(options: EventsModuleOptions): Promise<INestApplicationContext> {
  const app = await createTestApp({ providers: [Indexer, Digest] }, options);
  apps.push(app);
  return app;
}

async function idle(app: INestApplicationContext): Promise<void> {
  const queues = app.get(EventQueues);
  await waitFor(
    async () => {
      const c = await queues.counts('index');
      return c.waiting + c.delayed + c.active === 0;
    },
    { timeoutMs: 20_000, message: 'queue "index" idle' },
  );
}

describe.each([
  ['memory', (): EventsModuleOptions => ({})],
  ['redis', (): EventsModuleOptions => ({ redis: server.url, prefix: `debounce-${++seq}` })],
])('Debounce (%s)', (_name, options) => {
  it('runs once per key, with the last event, after the quiet time', async () => {
    const app = await start(options());
    const bus = app.get(EventBus);
    // One emitMany: the key's three events reach the store within one call, well inside the
    // quiet time, without depending on how fast separate emits follow each other.
    const before = Date.now();
    await bus.emitMany([
      { name: 'doc.edited', data: { doc: 'a', n: 1 } },
      { name: 'doc.edited', data: { doc: 'a', n: 2 } },
      { name: 'doc.edited', data: { doc: 'a', n: 3 } },
      { name: 'doc.edited', data: { doc: 'b', n: 1 } },
    ]);
    await idle(app);
    const runs = app.get(Indexer).runs;
    expect(runs.map(({ doc, n }) => `${doc}${n}`).sort()).toEqual(['a3', 'b1']);
    const runA = runs.find((r) => r.doc === 'a');
    expect(runA!.at - before).toBeGreaterThanOrEqual(QUIET_MS - 50);
    const counts = await app.get(EventQueues).counts('index');
    expect(counts).toMatchObject({ dead: 0, failed: 0 });
  });

  it('maxDelayMs: a key whose events never stop still runs', async () => {
    const app = await start(options());
    const bus = app.get(EventBus);
    const indexer = app.get(Indexer);
    let n = 0;
    // Events every 50 ms (well within the 300 ms quiet time) until a run happened.
    await waitFor(
      async () => {
        await bus.emit('doc.typed', { doc: 'a', n: ++n });
        return indexer.runs.length > 0;
      },
      { timeoutMs: 20_000, intervalMs: 50, message: 'a run while events keep coming' },
    );
    // The run came while events kept coming (the loop above), and not the first event at once:
    // the latest event of the window when it closed (possibly the one just emitted).
    expect(indexer.runs[0].n).toBeGreaterThan(1);
  });
});

describe.each([
  ['memory', (): EventsModuleOptions => ({})],
  ['redis', (): EventsModuleOptions => ({ redis: server.url, prefix: `collect-${++seq}` })],
])('Debounce collect: true (%s)', (_name, options) => {
  it('runs once per key with all the events of the window, in emit order', async () => {
    const app = await start(options());
    const bus = app.get(EventBus);
    await bus.emitMany([
      { name: 'doc.commented', data: { doc: 'a', n: 1 } },
      { name: 'doc.commented', data: { doc: 'b', n: 1 } },
      { name: 'doc.commented', data: { doc: 'a', n: 2 } },
      { name: 'doc.commented', data: { doc: 'a', n: 3 } },
    ]);
    await idle(app);
    const digest = app.get(Digest);
    expect(digest.runs.map((r) => r.events.join(',')).sort()).toEqual(['a1,a2,a3', 'b1']);
    // A later event opens a new window: it runs alone, nothing of the first window again.
    await bus.emit('doc.commented', { doc: 'a', n: 4 });
    await waitFor(() => digest.runs.length === 3, { timeoutMs: 20_000, message: 'second run' });
    await idle(app);
    expect(digest.runs[2].events).toEqual(['a4']);
    expect(await app.get(EventQueues).counts('index')).toMatchObject({ dead: 0, failed: 0 });
  });

  it('a failed run is retried with the same events', async () => {
    const app = await start(options());
    await app.get(EventBus).emitMany([
      { name: 'doc.commented', data: { doc: 'fail', n: 1 } },
      { name: 'doc.commented', data: { doc: 'fail', n: 2 } },
    ]);
    const digest = app.get(Digest);
    await waitFor(() => digest.runs.length === 2, { timeoutMs: 20_000, message: 'the retry' });
    await idle(app);
    expect(digest.runs).toEqual([
      { attempt: 1, events: ['fail1', 'fail2'] },
      { attempt: 2, events: ['fail1', 'fail2'] },
    ]);
    expect(await app.get(EventQueues).counts('index')).toMatchObject({ dead: 0, failed: 1 });
  });
});

describe('Debounce across a restart (redis)', () => {
  it('a pending debounce stored by an app that stopped runs in the next one', async () => {
    const prefix = `debounce-restart-${++seq}`;
    const first = await start({ redis: server.url, prefix, worker: false });
    await first.get(EventBus).emit('doc.edited', { doc: 'a', n: 1 });
    await first.get(EventBus).emit('doc.edited', { doc: 'a', n: 2 });
    await first.close();
    apps.splice(apps.indexOf(first), 1);
    const second = await start({ redis: server.url, prefix });
    await idle(second);
    expect(second.get(Indexer).runs.map(({ doc, n }) => `${doc}${n}`)).toEqual(['a2']);
  });

  it('collect: the events stored by an app that stopped all run in the next one', async () => {
    const prefix = `collect-restart-${++seq}`;
    const first = await start({ redis: server.url, prefix, worker: false });
    await first.get(EventBus).emit('doc.commented', { doc: 'a', n: 1 });
    await first.get(EventBus).emit('doc.commented', { doc: 'a', n: 2 });
    await first.close();
    apps.splice(apps.indexOf(first), 1);
    const second = await start({ redis: server.url, prefix });
    await idle(second);
    expect(second.get(Digest).runs).toEqual([{ attempt: 1, events: ['a1', 'a2'] }]);
  });
});
