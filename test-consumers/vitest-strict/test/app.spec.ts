import 'reflect-metadata';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  EventBus,
  EventsClient,
  EventsModule,
  EventsServer,
  MissingPeerDependencyError,
} from 'nestjs-events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OrderListeners } from './support/listeners.js';
import { RedisServer } from './support/redis-server.js';
import { waitFor } from './support/wait-for.js';

describe('nestjs-events from its tarball, without the optional peers', () => {
  const redis = new RedisServer();
  let app: TestingModule | undefined;

  beforeAll(() => redis.start());
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(() => redis.stop());

  it('boots a Redis app and runs a queued listener', async () => {
    app = await Test.createTestingModule({
      imports: [EventsModule.forRoot({ redis: redis.url, prefix: 'vitest-strict' })],
      providers: [OrderListeners],
    }).compile();
    await app.init();

    await app.get(EventBus).emit('order.created', { id: 'v1' });

    const listeners = app.get(OrderListeners);
    await waitFor(() => listeners.queued.length === 1);
    expect(listeners.queued).toEqual(['v1']);
    expect(listeners.inProcess).toEqual(['v1']);
  });

  it('names the missing peer when EventsServer or EventsClient is used without it', () => {
    expect(() => new EventsServer()).toThrow(MissingPeerDependencyError);
    expect(() => new EventsClient({ redis: redis.url })).toThrow(MissingPeerDependencyError);
  });
});
