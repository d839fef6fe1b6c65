import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveEventsOptions } from '../../lib/events.options.js';
import { serializeEnvelope } from '../../lib/event/event.serializer.js';
import type { ListenerDefinition } from '../../lib/discovery/listener-definition.js';
import { ListenerDirectory } from '../../lib/microservices/listener.directory.js';
import type { NewJob } from '../../lib/queue/queue-job.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

let server: RedisServer;
let seq = 0;
const open: ListenerDirectory[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

async function directory(prefix: string): Promise<ListenerDirectory> {
  const d = await ListenerDirectory.connect(
    resolveEventsOptions({ redis: server.url, prefix }),
    60_000,
  );
  open.push(d);
  return d;
}

function listener(id: string, patterns: string[], queue: string, delay = 0): ListenerDefinition {
  return {
    id,
    patterns,
    priority: 0,
    info: { id, isQueued: true },
    invoke: () => undefined,
    queue: { queue, tries: 1, backoff: 0, delay, timeout: 0 },
    eventClasses: [],
  };
}

function payload(id: string, name: string): string {
  return serializeEnvelope({ id, name, data: {}, metadata: {}, timestamp: Date.now() }, 1 << 20);
}

describe('ListenerDirectory (the listeners of every worker app of a prefix)', () => {
  it('fans out to the listeners of every app, and catches a listener up once, when it is new', async () => {
    const prefix = `dir-${++seq}`;
    const [a, b] = [await directory(prefix), await directory(prefix)];
    const stored: NewJob[] = [];
    const store = async (jobs: NewJob[]) => void stored.push(...jobs);
    await a.register([listener('A.mail', ['order.created'], 'emails')], store);
    await b.register([listener('B.audit', ['order.*'], 'audit', 50)], store);
    expect(await a.fanOut('e1', 'order.created', payload('e1', 'order.created'), store)).toBe(2);
    expect(stored.map((j) => [j.id, j.queue, j.delayMs])).toEqual([
      ['e1:A.mail', 'emails', 0],
      ['e1:B.audit', 'audit', 50],
    ]);
    stored.length = 0;
    // Nobody listens: nothing stored, nothing kept for late listeners.
    expect(await a.fanOut('e2', 'invoice.paid', payload('e2', 'invoice.paid'), store)).toBe(0);
    // A new listener gets the kept events that match it; registered again, nothing more.
    const late = listener('C.all', ['**'], 'all');
    expect(await b.register([late], store)).toBe(1);
    expect(stored.map((j) => j.id)).toEqual(['e1:C.all']);
    expect(await a.register([late], store)).toBe(0);
  });

  it('does not miss a listener registered while an event is being fanned out', async () => {
    const prefix = `dir-${++seq}`;
    const [a, b] = [await directory(prefix), await directory(prefix)];
    const stored: NewJob[] = [];
    await a.register([listener('A.mail', ['order.created'], 'emails')], async () => undefined);
    let caughtUp: number | undefined;
    const reached = await a.fanOut(
      'e1',
      'order.created',
      payload('e1', 'order.created'),
      async (jobs) => {
        stored.push(...jobs);
        // Between the fan-out's read of the directory and its record of the event: the new
        // listener's catch-up cannot see the event yet.
        caughtUp ??= await b.register(
          [listener('B.late', ['order.created'], 'late')],
          async (j) => {
            stored.push(...j);
          },
        );
      },
    );
    expect(caughtUp).toBe(0);
    expect(reached).toBe(2);
    expect(stored.map((j) => j.id)).toEqual(['e1:A.mail', 'e1:B.late']);
  });

  it('forgets a listener removed by hand once the version moved', async () => {
    const prefix = `dir-${++seq}`;
    const d = await directory(prefix);
    await d.register([listener('Gone.listener', ['x.y'], 'q')], async () => undefined);
    expect(await d.has('Gone.listener')).toBe(true);
    const redis = new Redis(server.url);
    try {
      const base = `${prefix}:{${prefix}:events.inbound}:listeners`;
      await redis.hdel(base, 'Gone.listener');
      await redis.incr(`${base}:version`);
    } finally {
      redis.disconnect();
    }
    expect(await d.has('Gone.listener')).toBe(false);
  });
});
