import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class ClusterListeners {
  readonly handled: string[] = [];

  @OnEvent('template.*')
  @ShouldQueue({ queue: 'template-a' })
  a(event: EventEnvelope) {
    this.handled.push(`a ${event.id}`);
  }

  @OnEvent('template.*')
  @ShouldQueue({ queue: 'template-b' })
  b(event: EventEnvelope) {
    this.handled.push(`b ${event.id}`);
  }
}

let cluster: RedisCluster;
let app: INestApplicationContext | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('Redis Cluster: an ioredis Cluster given as `redis`', () => {
  it('is used as a template: jobs run on the cluster, and the client is left open on shutdown', async () => {
    const client = new Cluster(cluster.startupNodes);
    const prefix = `template-${process.pid}`;
    try {
      app = await createTestApp(
        { providers: [ClusterListeners] },
        {
          redis: client as unknown as Record<string, unknown>,
          prefix,
        },
      );
      const listeners = app.get(ClusterListeners);
      const queues = app.get(EventQueues);
      const sent = await app.get(EventBus).emit('template.run', {});
      await waitFor(() => listeners.handled.length === 2, { timeoutMs: 15_000 });
      expect(listeners.handled.sort()).toEqual([`a ${sent.id}`, `b ${sent.id}`]);
      // The worker's blocking reads run on connections of its own, not on the user's client.
      await expect(client.set('template:probe', '1')).resolves.toBe('OK');
      await waitFor(async () => (await queues.counts('template-b')).completed === 1);
      // The jobs went through the cluster (not an embedded transport).
      // (The worker also works `events.inbound`, where EventsClient events wait.)
      const stored = await client.smembers(new RedisKeys(prefix).queues);
      expect(stored.filter((q) => q !== 'events.inbound').sort()).toEqual([
        'template-a',
        'template-b',
      ]);

      await app.close();
      app = undefined;
      expect(client.status).toBe('ready');
      expect(await client.get('template:probe')).toBe('1');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  }, 60_000);
});
