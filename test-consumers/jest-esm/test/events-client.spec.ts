import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventsClient } from 'nestjs-events';
import { RedisServer } from './support/redis-server.js';

// First test of its file: EventsClient connects to Redis through the library's own transport.
describe('EventsClient under Jest (ESM)', () => {
  const redis = new RedisServer();

  beforeAll(() => redis.start());
  afterAll(() => redis.stop());

  it('connects, emits and closes from the first test of a file', async () => {
    const client = new EventsClient({ redis: redis.url, prefix: 'jest-client' });
    try {
      await client.connect();
      const stored = await new Promise((resolve, reject) =>
        client.emit('order.created', { id: 'c1' }).subscribe({ next: resolve, error: reject }),
      );
      expect(stored).toMatchObject({ name: 'order.created', data: { id: 'c1' } });
    } finally {
      await client.close();
    }
  });
});

// Compile-time only (`npm run typecheck`): with @nestjs/microservices installed, EventsClient
// keeps ClientProxy's real types (the declarations fall back to `any` only without the peer).
export function emitNeedsData(client: EventsClient): void {
  // @ts-expect-error emit takes a pattern and data
  client.emit('order.created');
}
