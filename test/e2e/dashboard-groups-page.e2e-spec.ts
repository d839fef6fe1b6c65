import type { INestApplication } from '@nestjs/common';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSRF_HEADER, EventBus, EventQueues } from 'nestjs-events';
import {
  DASHBOARD_TOKEN,
  HeldTenantReports,
  startDashboardApp,
  tokenAuth,
} from '../fixtures/dashboard.fixtures.js';
import { openDashboard, type DashboardBrowser } from '../support/dashboard-browser.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const QUEUE = 'tenant-reports';

/**
 * The groups view of the dashboard page in headless Debian Chromium, against a real Express app
 * with a worker and a redis-server of the test's own.
 */
describe('the dashboard page: groups', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let seq = 0;
  const open: { app: INestApplication; browser?: DashboardBrowser }[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    for (const { app, browser } of open.splice(0)) {
      await browser?.browser.close();
      for (const tenant of ['acme', 'globex']) app.get(HeldTenantReports).release(tenant);
      await app.close();
    }
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function start(readOnly = false) {
    const app = await startDashboardApp(
      redis.url,
      `dash-groups-${++seq}`,
      { auth: tokenAuth, readOnly },
      [HeldTenantReports],
    );
    const opened: (typeof open)[number] = { app };
    open.push(opened);
    opened.browser = await openDashboard(`${await app.getUrl()}/events`, {
      authorization: DASHBOARD_TOKEN,
    });
    const { page } = opened.browser;
    await page.locator(`#queues tr[data-queue="${QUEUE}"]`).click();
    await page.locator('#groups-view').waitFor();
    return {
      app,
      page,
      browser: opened.browser,
      bus: app.get(EventBus),
      queues: app.get(EventQueues),
      reports: app.get(HeldTenantReports),
    };
  }

  /** The text of one cell of a group's row. */
  const cell = (page: Page, group: string, col: string) =>
    page.locator(`#groups tr[data-group="${group}"] td[data-col="${col}"]`).textContent();

  it("shows a queue's groups and their limits; Pause holds a group while another runs, Resume runs it", async () => {
    const { page, bus, queues, reports, browser } = await start();
    expect(await page.locator('#groups-settings').textContent()).toContain(
      'HeldTenantReports.build: weight 1 · at most 1 running per group · at most 1000 starts per 60000 ms',
    );
    // acme's first job runs (held) and its second waits for the slot.
    reports.hold('acme');
    await bus.emit('tenant.report', { tenant: 'acme', id: 'acme-1' });
    await bus.emit('tenant.report', { tenant: 'acme', id: 'acme-2' });
    await waitFor(() => reports.started.includes('acme-1'), { message: 'acme-1 started' });
    await expect.poll(() => cell(page, 'acme', 'active'), { timeout: 15_000 }).toBe('1');
    await expect.poll(() => cell(page, 'acme', 'waiting'), { timeout: 15_000 }).toBe('1');
    expect(await cell(page, 'acme', 'state')).toBe('running');

    await page.locator('#groups tr[data-group="acme"] button[data-action="pause"]').click();
    await expect.poll(() => cell(page, 'acme', 'state'), { timeout: 15_000 }).toBe('paused');
    expect((await queues.groups(QUEUE))[0]).toMatchObject({ id: 'acme', paused: true });

    // acme's running job ends and frees its slot: the paused group starts no other job, while
    // globex's jobs (emitted after) run.
    reports.release('acme');
    await waitFor(() => reports.done.includes('acme-1'), { message: 'acme-1 done' });
    await bus.emit('tenant.report', { tenant: 'globex', id: 'globex-1' });
    await bus.emit('tenant.report', { tenant: 'globex', id: 'globex-2' });
    await waitFor(() => reports.done.includes('globex-2'), { message: 'globex ran' });
    expect(reports.started).not.toContain('acme-2');
    await expect.poll(() => cell(page, 'acme', 'active'), { timeout: 15_000 }).toBe('0');
    expect(await cell(page, 'acme', 'waiting')).toBe('1');
    expect(await cell(page, 'acme', 'state')).toBe('paused');

    await page.locator('#groups tr[data-group="acme"] button[data-action="resume"]').click();
    await waitFor(() => reports.done.includes('acme-2'), { message: 'acme-2 ran after resume' });
    expect(reports.done).toEqual(['acme-1', 'globex-1', 'globex-2', 'acme-2']);
    // Empty and resumed, the group leaves the list.
    await expect.poll(() => page.locator('#groups tbody tr').count(), { timeout: 15_000 }).toBe(0);
    expect(browser.errors).toEqual([]);
    expect(browser.outside).toEqual([]);
  });

  it('pages many groups, 20 at a time', async () => {
    const { page, queues } = await start();
    // Paused groups are listed even with no job.
    const ids = Array.from({ length: 25 }, (_, i) => `tenant-${String(i).padStart(2, '0')}`);
    for (const id of ids) await queues.pauseGroup(QUEUE, id);
    const rows = page.locator('#groups tbody tr');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(20);
    expect(await page.locator('#groups-range').textContent()).toBe('1–20+');
    expect(await page.locator('#groups-prev').isDisabled()).toBe(true);
    await page.locator('#groups-next').click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(5);
    expect(await rows.first().getAttribute('data-group')).toBe('tenant-20');
    expect(await page.locator('#groups-next').isDisabled()).toBe(true);
    await page.locator('#groups-prev').click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(20);
  });

  it('readOnly: the groups are shown without Pause or Resume, and the API refuses them', async () => {
    const { page, bus, queues, reports } = await start(true);
    reports.hold('acme');
    await bus.emit('tenant.report', { tenant: 'acme', id: 'acme-1' });
    await expect.poll(() => cell(page, 'acme', 'active'), { timeout: 15_000 }).toBe('1');
    const pause = page.locator('#groups tr[data-group="acme"] button[data-action="pause"]');
    expect(await pause.count()).toBe(1);
    expect(await pause.isVisible()).toBe(false);
    const status = await page.evaluate(
      (header) =>
        fetch(`api/queues/tenant-reports/groups/acme/pause`, {
          method: 'POST',
          headers: { [header]: '1' },
        }).then((r) => r.status),
      DASHBOARD_CSRF_HEADER,
    );
    expect(status).toBe(403);
    expect((await queues.groups(QUEUE))[0]).toMatchObject({ id: 'acme', paused: false });
  });
});
