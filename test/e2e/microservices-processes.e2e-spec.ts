import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { EventsClient, type EventEnvelope } from 'nestjs-events';
import { waitFor } from '../support/wait-for.js';
import { type WorkerProcess } from '../fixtures/processes/worker-processes.js';
import { useWorkerProcesses } from '../fixtures/processes/use-worker-processes.js';

const rig = useWorkerProcesses();
const clients: EventsClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function startWorker(prefix: string): Promise<WorkerProcess> {
  return rig.start('./events-server-worker.mjs', prefix, {
    CONCURRENCY: '4',
    VISIBILITY_MS: '1000',
    HANDLER_MS: '10',
  });
}

/** Lines "eventId pid i" of the handlers that finished. */
async function done(prefix: string): Promise<{ id: string; pid: string }[]> {
  const lines = await rig.redis.lrange(`{${prefix}:test}:done`, 0, -1);
  return lines.map((line) => {
    const [id, pid] = line.split(' ');
    return { id, pid };
  });
}

async function emit(client: EventsClient, from: number, count: number): Promise<string[]> {
  const sent = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      lastValueFrom(client.emit<EventEnvelope>('job.run', { i: from + i })),
    ),
  );
  return sent.map((e) => e.id);
}

describe('EventsServer worker processes', () => {
  it('three processes on one queue share the work, and lose nothing when one is stopped and one killed', async () => {
    const prefix = `procs-${process.pid}`;
    const client = new EventsClient({ redis: rig.server.url, prefix });
    clients.push(client);
    const [a, b, c] = await Promise.all([
      startWorker(prefix),
      startWorker(prefix),
      startWorker(prefix),
    ]);

    // Normal operation: every event handled, by all three processes together. With a 1 s
    // visibility timeout a process stalled by a loaded machine may have a job reclaimed and run
    // twice (at-least-once), so this counts distinct events, not lines.
    const first = await emit(client, 0, 150);
    const handledIds = async () => new Set((await done(prefix)).map((d) => d.id));
    await waitFor(async () => (await handledIds()).size === first.length, { timeoutMs: 30_000 });
    expect(await handledIds()).toEqual(new Set(first));
    const normal = await done(prefix);
    expect(normal.length).toBeGreaterThanOrEqual(first.length);
    const byPid = new Set(normal.map((d) => d.pid));
    expect(byPid).toEqual(new Set([a, b, c].map((w) => String(w.child.pid))));

    // Mid-run: SIGTERM one (it drains and leaves), SIGKILL another (its jobs are reclaimed).
    const second = await emit(client, 150, 300);
    await waitFor(async () => (await done(prefix)).length >= normal.length + 40, {
      timeoutMs: 30_000,
    });
    a.child.kill('SIGTERM');
    b.child.kill('SIGKILL');
    await Promise.all([a.exited, b.exited]);
    const all = new Set([...first, ...second]);
    await waitFor(async () => new Set((await done(prefix)).map((d) => d.id)).size === all.size, {
      timeoutMs: 30_000,
    });
    expect(new Set((await done(prefix)).map((d) => d.id))).toEqual(all);
    // The stopped process drained what it ran: it logged no error on the way out.
    expect(a.output).not.toMatch(/ERROR/);
    expect(c.child.exitCode).toBeNull();
  }, 90_000);

  it('a plain worker process (EventsModule, no EventsServer) handles EventsClient events emitted before it started', async () => {
    const prefix = `plain-${process.pid}`;
    const client = new EventsClient({ redis: rig.server.url, prefix });
    clients.push(client);
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        lastValueFrom(client.emit<EventEnvelope>('proc.job', { i })),
      ),
    );
    await rig.start('./redis-worker.mjs', prefix, {
      CONCURRENCY: '4',
      VISIBILITY_MS: '5000',
      HANDLER_MS: '0',
    });
    const key = `${prefix}:test:done`;
    await waitFor(async () => (await rig.redis.llen(key)) >= sent.length, { timeoutMs: 30_000 });
    const handled = (await rig.redis.lrange(key, 0, -1)).map((line) => line.split(' ')[0]);
    expect(new Set(handled)).toEqual(new Set(sent.map((e) => e.id)));
  }, 60_000);
});
