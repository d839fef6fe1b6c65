import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { EventBus, EventQueues } from 'nestjs-events';
import {
  DASHBOARD_TOKEN,
  dashboardApps,
  startDashboardApp,
} from '../fixtures/dashboard.fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** One message of the tail. */
interface TailMessage {
  type: string;
  count?: number;
  event?: { name: string };
  job?: { event: { data: { json: string } } };
}

/** Opens the tail and collects its messages until `close()`. */
async function openTail(
  url: string,
): Promise<{ messages: TailMessage[]; close: () => Promise<void> }> {
  const response = await fetch(url, { headers: { authorization: DASHBOARD_TOKEN } });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const messages: TailMessage[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      const blocks = buffered.split('\n\n');
      buffered = blocks.pop() ?? '';
      for (const block of blocks) {
        const data = block.split('\n').find((line) => line.startsWith('data: '));
        if (data) messages.push(JSON.parse(data.slice(6)) as TailMessage);
      }
    }
  })();
  await waitFor(() => messages.some((m) => m.type === 'ready'), {
    message: 'the tail to be ready',
  });
  return {
    messages,
    close: async () => {
      await reader.cancel();
      await reading.catch(() => undefined);
    },
  };
}

/** The dashboard's live tail (server-sent events) through a real Express app and redis-server. */
describe('EventsDashboardModule: the live tail', () => {
  const apps = dashboardApps('tail');

  it('tails local emits and the jobs of another process, filtered by pattern', async () => {
    const prefix = apps.prefix();
    const app = await apps.start(prefix);
    const other = await apps.start(prefix, { auth: () => true });
    const tail = await openTail(`${await app.getUrl()}/events/api/tail?pattern=order.placed`);
    // A tail shows what it sees: held in the queue until seen, a job cannot slip past it.
    // Paused from each process: its own worker stops at once.
    for (const each of [app, other]) await each.get(EventQueues).pause('receipts');
    await app.get(EventBus).emit('order.shipped', { id: 'skip' });
    await app.get(EventBus).emit('order.placed', { id: 'here' });
    await other.get(EventBus).emit('order.placed', { id: 'there' });
    const { messages } = tail;
    const jobs = () =>
      messages
        .filter((m) => m.type === 'job')
        .map((m) => (JSON.parse(m.job!.event.data.json) as { id: string }).id)
        .sort();
    await waitFor(() => jobs().length === 2, { message: 'both jobs in the tail' });
    await app.get(EventQueues).resume('receipts');
    await waitFor(() => messages.filter((m) => m.type === 'dead').length === 2, {
      message: 'both dead letters in the tail',
    });
    expect(jobs()).toEqual(['here', 'there']);
    expect(messages.filter((m) => m.type === 'emit').map((m) => m.event?.name)).toEqual([
      'order.placed',
    ]);
    await tail.close();
  });

  it('shows 50 events a second and counts the rest', async () => {
    const app = await apps.start(apps.prefix());
    const tail = await openTail(`${await app.getUrl()}/events/api/tail?pattern=user.*`);
    const bus = app.get(EventBus);
    for (let i = 0; i < 300; i++) await bus.emit('user.signup', { i });
    const { messages } = tail;
    const shown = () => messages.filter((m) => m.type === 'emit').length;
    const skipped = () =>
      messages.filter((m) => m.type === 'skipped').reduce((sum, m) => sum + (m.count ?? 0), 0);
    await waitFor(() => shown() + skipped() === 300, { message: 'every emit shown or counted' });
    expect(skipped()).toBeGreaterThan(0);
    expect(shown()).toBeGreaterThanOrEqual(50);
    await tail.close();
  });

  it('ends an open tail when the app closes, so the page never holds up the shutdown', async () => {
    const app = await startDashboardApp(apps.url(), apps.prefix());
    const response = await fetch(`${await app.getUrl()}/events/api/tail`, {
      headers: { authorization: DASHBOARD_TOKEN },
    });
    const reader = response.body!.getReader();
    await reader.read();
    await app.close();
    for (;;) if ((await reader.read()).done) break;
  });

  it('closes its queue watch when the page goes away', async () => {
    const app = await apps.start(apps.prefix());
    const admin = new Redis(apps.url());
    try {
      const watching = async () =>
        ((await admin.client('LIST')) as string)
          .split('\n')
          .filter((line) => line.includes(':watch:receipts')).length;
      // The watches of the earlier tests' pages close on their own time.
      await waitFor(async () => (await watching()) === 0, { message: 'earlier watches closed' });
      const tail = await openTail(`${await app.getUrl()}/events/api/tail`);
      expect(await watching()).toBe(1);
      await tail.close();
      await waitFor(async () => (await watching()) === 0, { message: 'the watch to close' });
    } finally {
      admin.disconnect();
    }
  });
});
