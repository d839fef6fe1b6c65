import { Body, Controller, Injectable, Post, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventsExceptionFilter,
  EventsModule,
  OnEvent,
  ShouldQueue,
  type EventsModuleOptions,
} from 'nestjs-events';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

@Injectable()
class Mailer {
  @OnEvent('order.placed')
  @ShouldQueue({ queue: 'mail' })
  send(): void {}
}

@Controller('orders')
class OrdersController {
  constructor(private readonly bus: EventBus) {}

  @Post()
  async place(@Body() body: { name?: string; total?: unknown }): Promise<{ ok: true }> {
    await this.bus.emit(body.name ?? 'order.placed', { total: body.total });
    return { ok: true };
  }
}

/** A real HTTP app (Express), with the filter registered the DI way. */
async function startHttpApp(options: EventsModuleOptions): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [EventsModule.forRoot(options)],
    controllers: [OrdersController],
    providers: [Mailer, { provide: APP_FILTER, useClass: EventsExceptionFilter }],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app
    .get(EventBus)
    .addValidator<{ total?: unknown }>('order.placed', (order) =>
      typeof order.total === 'number' ? [] : [{ path: 'total', message: 'must be a number' }],
    );
  await app.listen(0, '127.0.0.1');
  return app;
}

async function post(
  app: INestApplication,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${await app.getUrl()}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('EventsExceptionFilter over HTTP', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('answers a validation refusal with 400 and the violations', async () => {
    app = await startHttpApp({});
    const { status, json } = await post(app, { total: 'ten' });
    expect(status).toBe(400);
    expect(json).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      code: 'EVENTS_INVALID_PAYLOAD',
      event: 'order.placed',
      violations: [{ path: 'total', message: 'must be a number' }],
    });
  });

  it('answers an invalid event name with 400', async () => {
    app = await startHttpApp({});
    const { status, json } = await post(app, { name: 'order.*', total: 1 });
    expect(status).toBe(400);
    expect(json).toMatchObject({ statusCode: 400, code: 'EVENTS_INVALID_EVENT_NAME' });
  });

  it('leaves a success alone', async () => {
    app = await startHttpApp({});
    expect(await post(app, { total: 3 })).toEqual({ status: 201, json: { ok: true } });
  });

  describe('on Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('answers a transport failure (Redis down) with 503', async () => {
      app = await startHttpApp({ redis: redis.url, prefix: 'http503', worker: false });
      expect((await post(app, { total: 3 })).status).toBe(201);
      await redis.kill();
      const { status, json } = await post(app, { total: 3 });
      expect(status).toBe(503);
      expect(json).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'EVENTS_TRANSPORT_FAILED',
      });
      await redis.start();
    });
  });
});
