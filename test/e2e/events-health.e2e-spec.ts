import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventsHealthIndicator, EventsModule } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { METRICS_QUEUE, MetricsListeners } from '../fixtures/metrics.fixtures.js';

interface HealthBody {
  details: { events: { queues: Record<string, unknown>; reasons: string[] } };
  error: { events: { status: string; reasons: string[] } };
}

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly events: EventsHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.events.isHealthy('events', { timeoutMs: 1000 })]);
  }

  @Get('health/strict')
  @HealthCheck()
  strict() {
    return this.health.check([() => this.events.isHealthy('events', { maxWaiting: 1 })]);
  }
}

describe('EventsHealthIndicator through @nestjs/terminus', () => {
  let server: RedisServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    server = await startRedisServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventsModule.forRoot({
          redis: server.url,
          prefix: `health-${process.pid}`,
          worker: false,
          redisCommandTimeout: 500,
        }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController],
      providers: [MetricsListeners],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });
  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    return { status: response.status, body: (await response.json()) as HealthBody };
  };

  it('is up with details per queue, down past a threshold', async () => {
    const { status, body } = await get('/health');
    expect(status).toBe(200);
    expect(body.details.events).toMatchObject({ status: 'up', transport: 'redis', worker: 'off' });
    await app.get(EventBus).emit('order.created', {});
    const strict = await get('/health/strict');
    expect(strict.status).toBe(503);
    expect(strict.body.details.events.queues[METRICS_QUEUE]).toMatchObject({ waiting: 2 });
    expect(strict.body.details.events.reasons[0]).toContain('maxWaiting 1');
  });

  it('is down while redis-server is stopped, and up again after it restarts', async () => {
    await server.kill();
    const down = await get('/health');
    expect(down.status).toBe(503);
    expect(down.body.error.events.status).toBe('down');
    expect(down.body.error.events.reasons[0]).toContain('redis transport did not answer');
    await server.start();
    await waitFor(async () => (await get('/health')).status === 200, { message: 'up again' });
  });
});

describe('EventsHealthIndicator on the embedded transport', () => {
  it('is down once the worker of this process has stopped', async () => {
    const app = await createTestApp({ providers: [MetricsListeners] });
    const indicator = app.get(EventsHealthIndicator);
    expect((await indicator.isHealthy()).events).toMatchObject({
      status: 'up',
      transport: 'memory',
      worker: 'running',
    });
    await app.close();
    const after = (await indicator.isHealthy('queues')).queues;
    expect(after).toMatchObject({ status: 'down', worker: 'stopped' });
    expect(after.reasons).toContain('the worker of this process has stopped');
  });
});
