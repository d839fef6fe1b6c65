import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

/**
 * `npm run sample:serve` as a real process, and its page in headless Debian Chromium: an order
 * placed over HTTP shows up on the page through the public and the private channel. Runs the
 * built sample (CI builds it before the tests; built here when missing).
 */
describe('the broadcasting sample page in Chromium', () => {
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let url = '';
  const output: string[] = [];

  beforeAll(async () => {
    if (!existsSync(`${root}/dist-sample/serve.js`) || !existsSync(`${root}/dist/index.js`)) {
      execFileSync('npm', ['run', 'build:sample'], { cwd: root, stdio: 'ignore' });
    }
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['dist-sample/serve.js'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), REDIS_URL: '', EVENTS_REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    server.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await waitFor(() => server?.exitCode !== null || output.join('').includes('listening on'), {
      timeoutMs: 30_000,
      message: 'the sample server to listen',
    });
    expect(server.exitCode, output.join('')).toBeNull();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking'],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  });

  it('shows an order placed over HTTP, on the public and the private list', async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${url}/?customer=ada`);
    await page.waitForSelector('body[data-ready="true"]');
    const place = async (customer: string, total: number): Promise<string> => {
      const response = await fetch(`${url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customer, total }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { orderId: string }).orderId;
    };
    const bobs = await place('bob', 7);
    const adas = await place('ada', 12.5);
    await page.locator('#private li', { hasText: adas }).waitFor();
    expect(await page.locator('#public li').allTextContents()).toEqual([
      `${bobs} bob 7`,
      `${adas} ada 12.5`,
    ]);
    // Bob's was broadcast first (one queue, in order): the private list has Ada's only.
    expect(await page.locator('#private li').allTextContents()).toEqual([`${adas} ada 12.5`]);
    expect(await page.locator('#status').textContent()).toBe('listening as ada');
    expect(errors).toEqual([]);
  });

  it('sends a welcome email on user.signup', async () => {
    const response = await fetch(`${url}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.com', name: 'Ada' }),
    });
    expect(response.status).toBe(201);
    await waitFor(() => output.join('').includes('welcome to ada@example.com'));
  });
});
