import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSRF_HEADER, EventBus, EventQueues, SagaManager } from 'nestjs-events';
import { FourStepSaga, SagaEvents, SagaProbe } from '../fixtures/saga.fixtures.js';
import {
  DASHBOARD_TOKEN,
  dashboardApps,
  ReceiptMailer,
  startDashboardApp,
  ReceiptResent,
  TenantReports,
} from '../fixtures/dashboard.fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** A guard class as `auth`: made a provider of the dashboard module. */
@Injectable()
class HeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    return request.headers['x-admin'] === 'yes';
  }
}

const AUTH = { authorization: DASHBOARD_TOKEN };
const MUTATE = { ...AUTH, [DASHBOARD_CSRF_HEADER]: '1' };

/** The dashboard's JSON API through a real Express app and a redis-server of the test's own. */
describe('EventsDashboardModule: the JSON API', () => {
  const apps = dashboardApps('api');
  let app: INestApplication | undefined;
  let base = '';

  async function start(
    options?: Parameters<typeof startDashboardApp>[2],
    providers?: Parameters<typeof startDashboardApp>[3],
  ): Promise<void> {
    app = await apps.start(apps.prefix(), options, providers);
    base = `${await app.getUrl()}/events`;
  }

  async function call(
    path: string,
    init: { method?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${base}/${path}`, { headers: AUTH, ...init });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : {} };
  }

  /** Three dead jobs in "receipts" (the mailer fails while `isFailing`). */
  async function seedDead(): Promise<string[]> {
    const bus = app!.get(EventBus);
    for (const id of ['o1', 'o2', 'o3']) {
      await bus.emit('order.placed', { id, card: { number: '4242 4242 4242 4242' } });
    }
    const queues = app!.get(EventQueues);
    await waitFor(async () => (await queues.counts('receipts')).dead === 3);
    return (await queues.listDead('receipts')).map((job) => job.id);
  }

  it('refuses requests without credentials (403), page and API alike', async () => {
    await start();
    for (const path of ['', 'api/queues', 'assets/dashboard.js', 'api/tail']) {
      const response = await fetch(`${base}/${path}`);
      expect(response.status, path).toBe(403);
    }
    expect((await call('api/queues')).status).toBe(200);
    const asset = (name: string) => fetch(`${base}/assets/${name}`, { headers: AUTH });
    expect((await asset('groups-view.js')).status).toBe(200);
    expect((await asset('nope.js')).status).toBe(404);
    const page = await fetch(base, { headers: AUTH });
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('without auth: 403 unless NODE_ENV is development or test', async () => {
    await start({});
    const previous = process.env.NODE_ENV;
    try {
      process.env.NODE_ENV = 'production';
      const refused = await fetch(`${base}/api/queues`);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { message: string }).message).toContain('no auth');
      process.env.NODE_ENV = 'development';
      expect((await fetch(`${base}/api/queues`)).status).toBe(200);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('takes a guard class as auth', async () => {
    await start({ auth: HeaderGuard, path: '/admin/queues/' });
    expect(base).toMatch(/\/events$/);
    base = base.replace(/\/events$/, '/admin/queues');
    expect((await fetch(`${base}/api/queues`)).status).toBe(403);
    expect((await fetch(`${base}/api/queues`, { headers: { 'x-admin': 'yes' } })).status).toBe(200);
  });

  it('lists queues with the counts of EventQueues.counts(), lag and throughput', async () => {
    await start();
    await seedDead();
    const { status, json } = await call('api/queues');
    expect(status).toBe(200);
    const counts = await app!.get(EventQueues).counts();
    const rows = json.queues as { name: string; counts: unknown; lagMs: number }[];
    expect(rows.map((row) => row.name)).toEqual(Object.keys(counts));
    for (const row of rows) expect(row.counts).toEqual(counts[row.name]);
    expect(rows[0]).toMatchObject({ isPaused: false, lastMinute: { completed: 0 } });
    expect(rows[0].lagMs).toBeGreaterThanOrEqual(0);
  });

  it('lists dead letters with their errors, paged, payloads redacted and cut at 10 KiB', async () => {
    await start({ auth: () => true, redact: ['card.number'] });
    const ids = await seedDead();
    const { json } = await call('api/queues/receipts/dead');
    const jobs = json.jobs as {
      id: string;
      error: string;
      attempts: number;
      stackHead: string;
      event: { name: string; data: { json: string; isTruncated: boolean } };
    }[];
    expect(json.total).toBe(3);
    expect(jobs.map((job) => job.id)).toEqual(ids);
    expect(jobs.map((job) => job.error)).toEqual(
      ['o1', 'o2', 'o3'].map((id) => `mail server refused order ${id}`),
    );
    expect(jobs[0]).toMatchObject({ attempts: 1, event: { name: 'order.placed' } });
    expect(jobs[0].stackHead).toContain('mail server refused');
    expect(JSON.parse(jobs[0].event.data.json)).toEqual({
      id: 'o1',
      card: { number: '[redacted]' },
    });
    const page = await call('api/queues/receipts/dead?offset=1&limit=1');
    expect((page.json.jobs as { id: string }[]).map((job) => job.id)).toEqual([ids[1]]);

    await app!.get(EventBus).emit('order.placed', { id: 'big', note: 'é'.repeat(20_000) });
    await waitFor(async () => (await app!.get(EventQueues).counts('receipts')).dead === 4);
    const big = (await call('api/queues/receipts/dead?offset=3')).json.jobs as typeof jobs;
    expect(big[0].event.data.isTruncated).toBe(true);
    expect(Buffer.byteLength(big[0].event.data.json)).toBeLessThanOrEqual(10 * 1024);
    expect(Buffer.byteLength(big[0].event.data.json)).toBeGreaterThan(10 * 1024 - 4);
  });

  it("filters dead letters by their event's tags (?tag=) and shows the tags", async () => {
    await start({ auth: () => true });
    const bus = app!.get(EventBus);
    await bus.emit(new ReceiptResent('r1', true));
    await bus.emit(new ReceiptResent('r2', false));
    await bus.emit(new ReceiptResent('r3', true));
    await waitFor(async () => (await app!.get(EventQueues).counts('receipts')).dead === 3);
    const vip = await call('api/queues/receipts/dead?tag=vip');
    const jobs = vip.json.jobs as { tags: string[]; error: string }[];
    expect(jobs.map((job) => job.error)).toEqual(['cannot resend r1', 'cannot resend r3']);
    expect(jobs[0].tags).toEqual(['vip', 'order:r1']);
    expect(vip.json).toMatchObject({ tag: 'vip', hasMore: false });
    const first = await call('api/queues/receipts/dead?tag=vip&limit=1');
    expect(first.json).toMatchObject({ hasMore: true });
    const one = await call(`api/queues/receipts/dead?tag=${encodeURIComponent('order:r2')}`);
    expect((one.json.jobs as { error: string }[]).map((job) => job.error)).toEqual([
      'cannot resend r2',
    ]);
    expect((await call('api/queues/receipts/dead?tag=vip&tag=x')).status).toBe(400);
    expect((await call('api/queues/receipts/dead?tag=')).status).toBe(400);
  });

  it('answers bad input with 400 and unknown queues or jobs with 404, as JSON', async () => {
    await start();
    await seedDead();
    for (const query of ['offset=-1', 'offset=x', 'limit=0', 'limit=1.5', 'limit=20000']) {
      const { status, json } = await call(`api/queues/receipts/dead?${query}`);
      expect(status, query).toBe(400);
      expect(json.message, query).toMatch(/offset|limit/);
    }
    expect((await call('api/queues/receipts/history?minutes=0')).status).toBe(400);
    for (const path of ['api/queues/nope/dead', 'api/queues/nope/history']) {
      const { status, json } = await call(path);
      expect(status, path).toBe(404);
      expect(json.message).toContain('Unknown queue "nope"');
    }
    const retry = await call('api/queues/receipts/dead/no-such-job/retry', {
      method: 'POST',
      headers: MUTATE,
    });
    expect(retry).toMatchObject({
      status: 404,
      json: { message: expect.stringContaining('no-such-job') },
    });
    const forget = await call('api/queues/receipts/dead/no-such-job', {
      method: 'DELETE',
      headers: MUTATE,
    });
    expect(forget.status).toBe(404);
    const tail = await call('api/tail?pattern=order..x');
    expect(tail.status).toBe(400);
    expect(tail.json.message).toContain('order..x');
    expect((await call('api/sagas')).status).toBe(404);
    for (const path of [
      'api/queues/%E0%A4%A/dead',
      'api/queues/a%20b/dead',
      'api/tail?pattern=a&pattern=b',
    ]) {
      expect((await call(path)).status, path).toBe(400);
    }
    expect((await call('api/queues')).status).toBe(200);
  });

  it('retries, forgets, retries all and purges; mutations need the header', async () => {
    await start();
    const ids = await seedDead();
    const mailer = app!.get(ReceiptMailer);
    const queues = app!.get(EventQueues);
    mailer.isFailing = false;
    const refused = await call(`api/queues/receipts/dead/${ids[0]}/retry`, { method: 'POST' });
    expect(refused.status).toBe(403);
    expect(refused.json.message).toContain(DASHBOARD_CSRF_HEADER);
    expect((await call(`api/queues/receipts/dead`, { method: 'DELETE' })).status).toBe(403);
    expect((await queues.counts('receipts')).dead).toBe(3);

    const retried = await call(`api/queues/receipts/dead/${ids[0]}/retry`, {
      method: 'POST',
      headers: MUTATE,
    });
    expect(retried).toEqual({ status: 200, json: { retried: 1 } });
    await waitFor(() => mailer.sent.includes('o1'));
    const forgot = await call(`api/queues/receipts/dead/${ids[1]}`, {
      method: 'DELETE',
      headers: MUTATE,
    });
    expect(forgot).toEqual({ status: 200, json: { forgotten: 1 } });
    expect((await queues.listDead('receipts')).map((job) => job.id)).toEqual([ids[2]]);
    const all = await call('api/queues/receipts/dead/retry-all', {
      method: 'POST',
      headers: MUTATE,
    });
    expect(all.json).toEqual({ retried: 1 });
    await waitFor(() => mailer.sent.includes('o3'));
    await waitFor(async () => {
      const minutes = (await call('api/queues/receipts/history')).json.minutes as {
        completed: number;
      }[];
      return minutes.length === 60 && minutes.reduce((sum, m) => sum + m.completed, 0) === 2;
    });

    mailer.isFailing = true;
    await app!.get(EventBus).emit('order.placed', { id: 'o4' });
    await waitFor(async () => (await queues.counts('receipts')).dead === 1);
    const purged = await call('api/queues/receipts/dead', { method: 'DELETE', headers: MUTATE });
    expect(purged.json).toEqual({ purged: 1 });
    expect((await queues.counts('receipts')).dead).toBe(0);
  });

  it("lists a queue's groups and pauses and resumes one; mutations need the header", async () => {
    await start();
    const reports = app!.get(TenantReports);
    const pause = 'api/queues/reports/groups/acme/pause';
    expect((await call(pause, { method: 'POST' })).status).toBe(403);
    expect(await call(pause, { method: 'POST', headers: MUTATE })).toEqual({
      status: 200,
      json: { group: 'acme', paused: true },
    });
    const bus = app!.get(EventBus);
    await bus.emit('report.requested', { tenant: 'acme' });
    await bus.emit('report.requested', { tenant: 'acme' });
    await bus.emit('report.requested', { tenant: 'globex' });
    // Settled, not just run: a running job still counts as active in its group.
    const queues = app!.get(EventQueues);
    await waitFor(async () => (await queues.counts('reports')).completed === 1);
    const listed = await call('api/queues/reports/groups');
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({
      queue: 'reports',
      offset: 0,
      groups: [{ id: 'acme', waiting: 2, active: 0, paused: true }],
    });
    expect(reports.ran).toEqual(['globex']);
    const resumed = await call('api/queues/reports/groups/acme/resume', {
      method: 'POST',
      headers: MUTATE,
    });
    expect(resumed.json).toEqual({ group: 'acme', paused: false });
    await waitFor(() => reports.ran.length === 3);
    expect((await call('api/queues/nope/groups')).status).toBe(404);
    expect((await call('api/queues/reports/groups?limit=x')).status).toBe(400);
    // Paged: paused groups are listed with no job; hasMore tells whether a next page exists.
    for (const id of ['g1', 'g2', 'g3']) await queues.pauseGroup('reports', id);
    const first = await call('api/queues/reports/groups?limit=2');
    expect(first.json).toMatchObject({ offset: 0, hasMore: true });
    expect((first.json.groups as { id: string }[]).map((g) => g.id)).toEqual(['g1', 'g2']);
    const last = await call('api/queues/reports/groups?offset=2&limit=2');
    expect(last.json).toMatchObject({ offset: 2, hasMore: false, groups: [{ id: 'g3' }] });
  });

  it('readOnly refuses every mutation', async () => {
    await start({ auth: () => true, readOnly: true });
    const ids = await seedDead();
    for (const [path, method] of [
      [`api/queues/receipts/dead/${ids[0]}/retry`, 'POST'],
      ['api/queues/receipts/dead/retry-all', 'POST'],
      [`api/queues/receipts/dead/${ids[0]}`, 'DELETE'],
      ['api/queues/receipts/dead', 'DELETE'],
      ['api/queues/reports/groups/acme/pause', 'POST'],
      ['api/queues/reports/groups/acme/resume', 'POST'],
    ]) {
      const { status, json } = await call(path, { method, headers: MUTATE });
      expect(status, path).toBe(403);
      expect(json.message).toContain('read-only');
    }
    expect((await app!.get(EventQueues).counts('receipts')).dead).toBe(3);
    expect((await call('api/queues/receipts/dead')).status).toBe(200);
  });

  it('lists the listeners', async () => {
    await start();
    const { listeners } = (await call('api/listeners')).json as {
      listeners: { patterns: string[]; queue?: string; priority: number }[];
    };
    expect(listeners).toContainEqual(
      expect.objectContaining({ patterns: ['order.placed'], queue: 'receipts', isQueued: true }),
    );
    expect(listeners).toContainEqual(
      expect.objectContaining({ patterns: ['order.*'], priority: 5, isQueued: false }),
    );
  });

  it('lists sagas with their input and state redacted, when the app defines some', async () => {
    await start({ auth: () => true, redact: ['n'] }, [SagaProbe, SagaEvents, FourStepSaga]);
    const outcome = await app!.get(SagaManager).execute('four', { n: 7 });
    expect(outcome.status).toBe('completed');
    const { status, json } = await call('api/sagas?name=four&status=completed');
    expect(status).toBe(200);
    const [saga] = json.sagas as { name: string; status: string; input: { json: string } }[];
    expect(saga).toMatchObject({ name: 'four', status: 'completed' });
    expect(JSON.parse(saga.input.json)).toEqual({ n: '[redacted]' });
    expect((await call('api/sagas?status=lost')).status).toBe(400);
  });
});
