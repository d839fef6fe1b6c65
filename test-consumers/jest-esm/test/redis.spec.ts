import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { EventBus, EventsModule } from 'nestjs-events';
import { OrderListeners } from './support/listeners.js';
import { RedisServer } from './support/redis-server.js';
import { waitFor } from './support/wait-for.js';

// The FIRST test of this file boots a Redis app: under Jest's ESM mode a dynamic import of the
// library's own modules made exactly this one fail ("request for '@nestjs/common' is not in cache").
describe('nestjs-events under Jest (ESM)', () => {
  const redis = new RedisServer();
  let app: TestingModule | undefined;

  beforeAll(() => redis.start());
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(() => redis.stop());

  it('boots a Redis app and runs a queued listener from the first test', async () => {
    app = await Test.createTestingModule({
      imports: [EventsModule.forRoot({ redis: redis.url, prefix: 'jest-first' })],
      providers: [OrderListeners],
    }).compile();
    await app.init();

    await app.get(EventBus).emit('order.created', { id: 'o1' });

    const listeners = app.get(OrderListeners);
    await waitFor(() => listeners.queued.length === 1);
    expect(listeners.queued).toEqual(['o1']);
    expect(listeners.inProcess).toEqual(['o1']);
  });

  it('runs in-process listeners on the embedded transport', async () => {
    app = await Test.createTestingModule({
      imports: [EventsModule.forRoot()],
      providers: [OrderListeners],
    }).compile();
    await app.init();

    await app.get(EventBus).emit('order.created', { id: 'o2' });

    expect(app.get(OrderListeners).inProcess).toEqual(['o2']);
  });
});
