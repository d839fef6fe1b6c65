import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventQueues } from 'nestjs-events';
import {
  DASHBOARD_TOKEN,
  ReceiptMailer,
  startDashboardApp,
  tokenAuth,
} from '../fixtures/dashboard.fixtures.js';
import { openDashboard } from '../support/dashboard-browser.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

/** Screenshots of each view (git-ignored). */
const SHOTS = fileURLToPath(new URL('../../.screenshots/', import.meta.url));

/**
 * The dashboard page in headless Debian Chromium, against a real Express app and a
 * redis-server of the test's own: one page, driven view by view.
 */
describe('the dashboard page in Chromium', () => {
  let redis: RedisServer;
  let app: INestApplication;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin = '';
  let errors: string[] = [];
  let outside: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    redis = await startRedisServer();
    app = await startDashboardApp(redis.url, 'dash-page', {
      auth: tokenAuth,
      redact: ['card.number'],
    });
    origin = new URL(await app.getUrl()).origin;
    const bus = app.get(EventBus);
    for (const id of ['o1', 'o2', 'o3']) {
      await bus.emit('order.placed', { id, card: { number: '4242 4242 4242 4242' } });
    }
    await waitFor(async () => (await app.get(EventQueues).counts('receipts')).dead === 3);
    ({ browser, context, page, errors, outside } = await openDashboard(`${origin}/events`, {
      authorization: DASHBOARD_TOKEN,
    }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await redis?.stop();
  });

  const deadItems = () => page.locator('#dead li');

  it('shows the queues with the counts of EventQueues.counts()', async () => {
    const counts = await app.get(EventQueues).counts('receipts');
    const row = page.locator('#queues tr[data-queue="receipts"]');
    for (const [col, value] of Object.entries(counts)) {
      await expect
        .poll(() => row.locator(`td[data-col="${col}"]`).textContent(), { message: col })
        .toBe(String(value));
    }
    expect(counts.dead).toBe(3);
    await page.locator('#queues-view').screenshot({ path: `${SHOTS}queues.png` });
  });

  it('lists three dead jobs with their errors, payloads redacted', async () => {
    await expect.poll(() => deadItems().count()).toBe(3);
    expect(await page.locator('#dead li .error').allTextContents()).toEqual(
      ['o1', 'o2', 'o3'].map((id) => `mail server refused order ${id}`),
    );
    expect(await page.locator('#dead li .payload').first().textContent()).toContain(
      '"number":"[redacted]"',
    );
    await page.locator('#dead-view').screenshot({ path: `${SHOTS}dead-letters.png` });
  });

  it('Retry on one runs it and the list shrinks', async () => {
    const [first] = await app.get(EventQueues).listDead('receipts', { limit: 1 });
    const mailer = app.get(ReceiptMailer);
    mailer.isFailing = false;
    await page.locator(`#dead li[data-id="${first.id}"] button[data-action="retry"]`).click();
    await waitFor(() => mailer.sent.includes('o1'), { message: 'the retried job to run' });
    await expect.poll(() => deadItems().count()).toBe(2);
    await expect.poll(() => page.locator('#dead-total').textContent()).toBe('2');
  });

  it('shows an event emitted after load in the tail; pause and filter', async () => {
    await expect.poll(() => page.locator('#tail-state').textContent()).toBe('live');
    // The job is held until the tail shows it: the tail reads each queue at most every 200 ms,
    // and a job that enters and is done between two reads is not shown (by design).
    const mailer = app.get(ReceiptMailer);
    let release = (): void => undefined;
    mailer.hold = new Promise((resolve) => (release = resolve));
    try {
      await app.get(EventBus).emit('order.placed', { id: 'after-load' });
      await page.locator('#tail li[data-type="emit"]', { hasText: 'after-load' }).waitFor();
      await page.locator('#tail li[data-type="job"]', { hasText: 'after-load' }).waitFor();
    } finally {
      mailer.hold = undefined;
      release();
    }
    await waitFor(() => mailer.sent.includes('after-load'), { message: 'the held job to run' });

    await page.locator('#tail-pause').click();
    await app.get(EventBus).emit('user.signup', { id: 'while-paused' });
    await expect.poll(() => page.locator('#tail-state').textContent()).toBe('paused (1 missed)');
    expect(await page.locator('#tail li', { hasText: 'while-paused' }).count()).toBe(0);
    await page.locator('#tail-pause').click();

    await page.locator('#tail-pattern').fill('user.*');
    await page.locator('#tail-form button[type="submit"]').click();
    await expect.poll(() => page.locator('#tail-state').textContent()).toBe('live');
    await app.get(EventBus).emit('order.placed', { id: 'filtered-out' });
    await app.get(EventBus).emit('user.signup', { id: 'shown' });
    await page.locator('#tail li', { hasText: 'shown' }).waitFor();
    expect(await page.locator('#tail li', { hasText: 'filtered-out' }).count()).toBe(0);
    await page.locator('#tail-view').screenshot({ path: `${SHOTS}tail.png` });
    await page.locator('#chart svg rect.completed').first().waitFor();
    await page.screenshot({ path: `${SHOTS}dashboard.png`, fullPage: true });
  });

  it('lists the listeners and draws the last hour', async () => {
    const listeners = page.locator('#listeners tbody tr');
    expect(await listeners.filter({ hasText: 'ReceiptMailer.send' }).textContent()).toContain(
      'receipts',
    );
    expect(await listeners.filter({ hasText: 'OrderAudit.audit' }).textContent()).toContain(
      'in-process',
    );
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.locator('#chart svg rect.completed').first().waitFor();
    await page.locator('#listeners-view').screenshot({ path: `${SHOTS}listeners.png` });
    await page.locator('#chart-view').screenshot({ path: `${SHOTS}chart.png` });
  });

  it('filters the dead letters by tag', async () => {
    await expect.poll(() => deadItems().count()).toBe(2);
    await page.locator('#dead-tag').fill('no-such-tag');
    await page.locator('#dead-tag').press('Enter');
    await expect.poll(() => deadItems().count()).toBe(0);
    await page.locator('#dead-tag').fill('');
    await page.locator('#dead-tag').press('Enter');
    await expect.poll(() => deadItems().count()).toBe(2);
  });

  it('Purge empties the dead letters once confirmed (not when cancelled)', async () => {
    await expect.poll(() => deadItems().count()).toBe(2);
    await page.locator('#purge').click();
    await page.locator('#confirm button[value="cancel"]').click();
    expect((await app.get(EventQueues).counts('receipts')).dead).toBe(2);
    await page.locator('#purge').click();
    await page.locator('#confirm-ok').click();
    await expect.poll(() => deadItems().count()).toBe(0);
    expect((await app.get(EventQueues).counts('receipts')).dead).toBe(0);
  });

  it('refuses a POST without the header, and everything without credentials', async () => {
    // Another page of the same (authenticated) context: the refusal it logs is expected.
    const other = await context.newPage();
    await other.goto(`${origin}/events`);
    const status = await other.evaluate(() =>
      fetch('api/queues/receipts/dead/retry-all', { method: 'POST' }).then((r) => r.status),
    );
    expect(status).toBe(403);
    await other.close();
    const stranger = await browser.newContext();
    const response = await (await stranger.newPage()).goto(`${origin}/events`);
    expect(response?.status()).toBe(403);
    await stranger.close();
  });

  it('logged no console error and sent no request outside the origin', () => {
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
  });
});
