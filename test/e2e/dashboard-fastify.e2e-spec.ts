import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DASHBOARD_CSRF_HEADER,
  EventBus,
  EventQueues,
  EventsDashboardModule,
  EventsModule,
} from 'nestjs-events';
import { DASHBOARD_TOKEN, ReceiptMailer, tokenAuth } from '../fixtures/dashboard.fixtures.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const AUTH = { authorization: DASHBOARD_TOKEN };
const MUTATE = { ...AUTH, [DASHBOARD_CSRF_HEADER]: '1' };

/** The dashboard mounted on Fastify (`@nestjs/platform-fastify`) instead of Express. */
describe('EventsDashboardModule on Fastify', () => {
  let redis: RedisServer;
  let app: INestApplication | undefined;
  let base = '';
  let n = 0;

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function start(fastify: { ignoreTrailingSlash?: boolean } = {}): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventsModule.forRoot({ redis: redis.url, prefix: `dash-fastify-${++n}` }),
        EventsDashboardModule.forRoot({ auth: tokenAuth }),
      ],
      providers: [ReceiptMailer],
    }).compile();
    const started = moduleRef.createNestApplication<NestFastifyApplication>(
      new FastifyAdapter(fastify),
      {
        logger: false,
      },
    );
    await started.listen(0, '127.0.0.1');
    app = started;
    base = `${await started.getUrl()}/events`;
    return started;
  }

  it('serves the page, its assets and the API, refuses strangers, and maps errors to JSON', async () => {
    await start();
    // Fastify's router is strict about the trailing slash: the page is at `/events`.
    for (const path of ['', '/api/queues', '/assets/dashboard.js', '/api/tail']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(403);
    }
    const page = await fetch(base, { headers: AUTH });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('/events/');
    for (const name of ['dashboard.js', 'page-common.js', 'groups-view.js', 'tail-view.js']) {
      const script = await fetch(`${base}/assets/${name}`, { headers: AUTH });
      expect(script.status, name).toBe(200);
      expect(script.headers.get('content-type')).toContain('text/javascript');
    }
    const style = await fetch(`${base}/assets/dashboard.css`, { headers: AUTH });
    expect(style.headers.get('content-type')).toContain('text/css');
    const other = await fetch(`${base}/assets/..%2Fdashboard.guard.js`, { headers: AUTH });
    expect(other.status).toBe(404);
    const queues = await fetch(`${base}/api/queues`, { headers: AUTH });
    expect(queues.status).toBe(200);
    expect(((await queues.json()) as { queues: { name: string }[] }).queues).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'receipts' })]),
    );
    const unknown = await fetch(`${base}/api/queues/nope/dead`, { headers: AUTH });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toContain('Unknown queue');
    const badLimit = await fetch(`${base}/api/queues/receipts/dead?limit=-1`, { headers: AUTH });
    expect(badLimit.status).toBe(400);
  });

  it('answers at `/events/` too when the adapter ignores trailing slashes', async () => {
    await start({ ignoreTrailingSlash: true });
    const page = await fetch(`${base}/`, { headers: AUTH });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/events/');
  });

  it('retries a dead job only with the CSRF header', async () => {
    const started = await start();
    const mailer = started.get(ReceiptMailer);
    await started.get(EventBus).emit('order.placed', { id: 'f1' });
    const queues = started.get(EventQueues);
    await waitFor(async () => (await queues.counts('receipts')).dead === 1);
    const [dead] = await queues.listDead('receipts');
    mailer.isFailing = false;
    const url = `${base}/api/queues/receipts/dead/${dead.id}/retry`;
    expect((await fetch(url, { method: 'POST', headers: AUTH })).status).toBe(403);
    const retried = await fetch(url, { method: 'POST', headers: MUTATE });
    expect(await retried.json()).toEqual({ retried: 1 });
    await waitFor(() => mailer.sent.includes('f1'));
  });

  it('streams the tail as server-sent events and ends it when the app closes', async () => {
    const started = await start();
    const response = await fetch(`${base}/api/tail?pattern=order.*`, { headers: AUTH });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const readUntil = async (what: string): Promise<void> => {
      while (!text.includes(what)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the tail ended before "${what}"`);
        text += value;
      }
    };
    await readUntil('"type":"ready"');
    await started.get(EventBus).emit('order.shipped', { id: 'f2' });
    await readUntil('order.shipped');
    await started.close();
    app = undefined;
    for (;;) if ((await reader.read()).done) break;
  });
});
