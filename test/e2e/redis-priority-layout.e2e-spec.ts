import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { serializeEnvelope } from '../../lib/event/event.serializer.js';
import { CONSUMER_GROUP, RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { createTestApp } from '../support/create-test-app.js';
import { useRedisTransports } from '../fixtures/use-redis-transports.js';
import { waitFor } from '../support/wait-for.js';
import { QueueProbe } from '../fixtures/queue-probe.js';

const QUEUE = 'layout';

@Injectable()
class LayoutListeners {
  constructor(private readonly probe: QueueProbe) {}

  @OnEvent('layout.job')
  @ShouldQueue({ queue: QUEUE, tries: 3 })
  job(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('layout', event, context);
  }
}

const LISTENER = 'LayoutListeners.job';

let seq = 0;

/** A job's payload as a producer writes it. */
function payload(tag: string): string {
  const id = `layout-${process.pid}-${++seq}`;
  const envelope = { id, name: 'layout.job', data: { tag }, metadata: {}, timestamp: Date.now() };
  return serializeEnvelope(envelope, 1024 * 1024);
}

/**
 * How Redis holds prioritized jobs, across versions: the take script moves a level's job into the
 * stream as stored (one field `j`), and what earlier versions wrote (level members, and taken
 * entries of seven fields plus `m`) is still run, retried and dead-lettered at its priority.
 */
describe('priority levels on Redis: the stored layout', () => {
  const rig = useRedisTransports();

  async function start(prefix: string, visibilityTimeout = 30_000) {
    const app = rig.track(
      await createTestApp(
        { providers: [QueueProbe, LayoutListeners] },
        { redis: rig.server.url, prefix, visibilityTimeout },
      ),
    );
    return { bus: app.get(EventBus), probe: app.get(QueueProbe), queues: app.get(EventQueues) };
  }

  /**
   * A plain job, then a priority-4 one that waits in its level behind it (into an empty queue it
   * would go straight to the stream); the worker takes the high one first and is held in it.
   * `beforeTake` runs while the queue is still paused. Resolves with the release of the handler.
   */
  async function takeHigh(prefix: string, beforeTake: () => unknown = () => undefined) {
    const { bus, probe, queues } = await start(prefix);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    probe.set('layout', () => held);
    await queues.pause(QUEUE);
    await bus.emit('layout.job', { tag: 'plain' });
    await bus.emit('layout.job', { tag: 'high' }, { priority: 4 });
    await beforeTake();
    await queues.resume(QUEUE);
    await waitFor(() => probe.callsOf('layout').length >= 1);
    expect((probe.callsOf('layout')[0].event.data as { tag: string }).tag).toBe('high');
    return release;
  }

  it('delivers a job taken from its level as one field holding the JSON its level held', async () => {
    const prefix = `layout-take-${process.pid}`;
    const release = await takeHigh(prefix);
    const entries = await rig.redis.xrange(new RedisKeys(prefix).queue(QUEUE).stream, '-', '+');
    const taken = entries.filter(([, fields]) => fields.some((value) => value.includes('high')));
    expect(taken).toHaveLength(1);
    const [[, fields]] = taken;
    expect(fields).toHaveLength(2);
    expect(fields[0]).toBe('j');
    expect(JSON.parse(fields[1])).toMatchObject({ l: LISTENER, a: '0', q: '4', ag: '0' });
    release();
  });

  it("takes a level's jobs in one command, delivered as a read delivers: pending once for the worker, past the group's last id", async () => {
    const prefix = `layout-claim-${process.pid}`;
    const release = await takeHigh(prefix, () => rig.redis.config('RESETSTAT'));
    const k = new RedisKeys(prefix).queue(QUEUE);
    const entries = await rig.redis.xrange(k.stream, '-', '+');
    const [[high]] = entries.filter(([, fields]) => fields.some((value) => value.includes('high')));
    // Pending for one consumer (the worker's), delivered once.
    const [[entry, consumer, , deliveries]] = (await rig.redis.xpending(
      k.stream,
      CONSUMER_GROUP,
      high,
      high,
      1,
    )) as [string, string, number, number][];
    expect([entry, deliveries]).toEqual([high, 1]);
    expect(consumer).not.toBe('');
    // Past the group's last delivered id: no other read gets it again.
    const again = await rig.redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      `layout-other-${process.pid}`,
      'COUNT',
      10,
      'STREAMS',
      k.stream,
      '>',
    );
    expect(again).toBeNull();
    // The take is one script call: no MULTI/EXEC around a read.
    const stats = await rig.redis.info('commandstats');
    expect(stats).not.toMatch(/^cmdstat_(multi|exec):/m);
    release();
  });

  it('takes jobs left in levels by an earlier version, in priority then stored order', async () => {
    const prefix = `layout-levels-${process.pid}`;
    const k = new RedisKeys(prefix).queue(QUEUE);
    await rig.redis.sadd(new RedisKeys(prefix).queues, QUEUE);
    await rig.redis.xgroup('CREATE', k.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    const member = (tag: string, q: number) =>
      JSON.stringify({
        id: `old-${tag}`,
        l: LISTENER,
        p: payload(tag),
        a: '0',
        t: '1',
        q: `${q}`,
        ag: '0',
        r: '1',
      });
    await rig.redis.rpush(`${k.levels}:-1`, member('low-0', -1), member('low-1', -1));
    await rig.redis.rpush(`${k.levels}:2`, member('high-0', 2), member('high-1', 2));
    await rig.redis.zadd(k.levels, -1, '-1', 2, '2');
    const { probe } = await start(prefix);
    await waitFor(() => probe.callsOf('layout').length === 4, { timeoutMs: 20_000 });
    expect(probe.callsOf('layout').map((c) => (c.event.data as { tag: string }).tag)).toEqual([
      'high-0',
      'high-1',
      'low-0',
      'low-1',
    ]);
  });

  it('puts an undelivered taken entry back in its own level when jobs are staged', async () => {
    const prefix = `layout-restage-${process.pid}`;
    const k = new RedisKeys(prefix).queue(QUEUE);
    await rig.redis.sadd(new RedisKeys(prefix).queues, QUEUE);
    await rig.redis.xgroup('CREATE', k.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    // A taken job's entry that no worker read (its delivery lost with a consumer group, say).
    const level = { id: 'old-low', l: LISTENER, p: payload('old-low'), a: '0', t: '1', q: '-1' };
    await rig.redis.xadd(k.stream, '*', 'j', JSON.stringify({ ...level, ag: '0', r: '1' }));
    const { bus, probe, queues } = await start(prefix);
    await queues.pause(QUEUE);
    await bus.emit('layout.job', { tag: 'high' }, { priority: 3 });
    await bus.emit('layout.job', { tag: 'plain' });
    await queues.resume(QUEUE);
    await waitFor(() => probe.callsOf('layout').length === 3, { timeoutMs: 20_000 });
    expect(probe.callsOf('layout').map((c) => (c.event.data as { tag: string }).tag)).toEqual([
      'high',
      'plain',
      'old-low',
    ]);
    expect(await queues.listDead(QUEUE)).toEqual([]);
  });

  it('reclaims an entry taken by an earlier version, retries it in its level, dead-letters it at its priority', async () => {
    const prefix = `layout-pending-${process.pid}`;
    const k = new RedisKeys(prefix).queue(QUEUE);
    await rig.redis.sadd(new RedisKeys(prefix).queues, QUEUE);
    await rig.redis.xgroup('CREATE', k.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    // What an earlier take script wrote: seven fields and `m`, delivered to a worker that died.
    await rig.redis.xadd(
      k.stream,
      '*',
      'id',
      'old-taken',
      'l',
      LISTENER,
      'p',
      payload('taken'),
      'a',
      '0',
      't',
      '1',
      'q',
      '3',
      'ag',
      '0',
      'm',
      '1',
    );
    await rig.redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      'gone',
      'COUNT',
      1,
      'STREAMS',
      k.stream,
      '>',
    );
    const { probe, queues } = await start(prefix, 300);
    probe.set('layout', () => {
      throw new Error('refused');
    });
    await waitFor(async () => (await queues.listDead(QUEUE)).length === 1, { timeoutMs: 20_000 });
    const [dead] = await queues.listDead(QUEUE);
    expect(dead).toMatchObject({ id: 'old-taken', attempts: 3, priority: 3 });
    // Attempt 2 on the reclaimed entry, attempt 3 after its retry went back to level 3.
    expect(probe.callsOf('layout').map((c) => c.attempt)).toEqual([2, 3]);
  });
});
