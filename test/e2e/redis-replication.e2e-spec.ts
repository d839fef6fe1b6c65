import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EmitOutcomeUnknownError,
  EventBus,
  OnEvent,
  ReplicationTimeoutError,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import { RedisKeys } from '../../lib/queue/redis/redis-keys.js';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class Replicated {
  readonly handled: string[] = [];

  @OnEvent('replicated.*')
  @ShouldQueue({ queue: 'replicated' })
  run(event: EventEnvelope) {
    this.handled.push(event.id);
  }
}

const apps: INestApplicationContext[] = [];
const servers: RedisServer[] = [];
const clients: Redis[] = [];
let seq = 0;

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of servers) s.resume();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** A primary and one replica of it, the replica in sync. */
async function pair(): Promise<{ primary: RedisServer; replica: RedisServer; onReplica: Redis }> {
  // No 5 s wait before the first full sync.
  const primary = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
  servers.push(primary);
  const replica = await startRedisServer({
    args: ['--replicaof', '127.0.0.1', String(primary.port)],
  });
  servers.push(replica);
  const onReplica = new Redis(replica.url);
  clients.push(onReplica);
  await waitFor(async () => /master_link_status:up/.test(await onReplica.info('replication')));
  return { primary, replica, onReplica };
}

async function start(options: EventsModuleOptions) {
  const app = await createTestApp({ providers: [Replicated] }, options);
  apps.push(app);
  return { bus: app.get(EventBus), listeners: app.get(Replicated) };
}

describe('replication: emits wait for replicas (WAIT)', () => {
  it('resolves an emit once the replica holds its job', async () => {
    const { primary, replica, onReplica } = await pair();
    const prefix = `replicated-${++seq}`;
    const { bus } = await start({
      redis: primary.url,
      prefix,
      worker: false,
      replication: { replicas: 1, timeoutMs: 4000 },
    });
    const stream = new RedisKeys(prefix).queue('replicated').stream;
    const onPrimary = new Redis(primary.url);
    clients.push(onPrimary);
    // While the replica is frozen, the emit stays pending although the primary holds its job.
    replica.pause();
    let isResolved = false;
    const emitted = bus.emit('replicated.frozen', {}).then(() => (isResolved = true));
    await waitFor(async () => (await onPrimary.xlen(stream)) === 1);
    await onPrimary.ping(); // one more round trip: a reply to the emit would have come by now
    expect(isResolved).toBe(false);
    replica.resume();
    await emitted;
    expect(await onReplica.xlen(stream)).toBe(1);
    // Every emit, read on the replica the moment it resolves: its job is there already.
    for (let i = 0; i < 5; i++) {
      await bus.emit('replicated.one', { i });
      expect(await onReplica.xlen(stream)).toBe(i + 2);
    }
    await Promise.all(Array.from({ length: 20 }, (_, i) => bus.emit('replicated.burst', { i })));
    expect(await onReplica.xlen(stream)).toBe(26);
  });

  it('rejects with ReplicationTimeoutError (outcome unknown) after timeoutMs when the replica does not answer', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { primary, replica } = await pair();
    const prefix = `replicated-${++seq}`;
    const { bus, listeners } = await start({
      redis: primary.url,
      prefix,
      replication: { replicas: 1, timeoutMs: 300 },
    });
    // Right after the first sync the replica may be slow to acknowledge: warm up until it does.
    await waitFor(() =>
      bus.emit('replicated.warm', {}).then(
        () => true,
        (e: unknown) => {
          if (e instanceof ReplicationTimeoutError) return false;
          throw e;
        },
      ),
    );
    replica.pause();
    const startedAt = Date.now();
    const emitted = bus.emit('replicated.lagging', {}, { id: 'lagging-1' });
    const error = await emitted.catch((e: unknown) => e);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(error).toBeInstanceOf(ReplicationTimeoutError);
    expect(error).toBeInstanceOf(EmitOutcomeUnknownError);
    expect(error).toMatchObject({
      code: 'EVENTS_REPLICATION_TIMEOUT',
      eventId: 'lagging-1',
      acknowledged: 0,
      required: 1,
    });
    // A delayed emit takes the other store path (not the per-tick batch): it waits for the replica too.
    const delayed = await bus
      .emit('replicated.lagging', {}, { id: 'lagging-2', delay: 60_000 })
      .catch((e: unknown) => e);
    expect(delayed).toBeInstanceOf(ReplicationTimeoutError);
    expect(delayed).toMatchObject({ eventId: 'lagging-2', acknowledged: 0, required: 1 });
    // Stored on the primary all the same: its job runs, once, even after a retry with its id.
    await waitFor(() => listeners.handled.includes('lagging-1'));
    replica.resume();
    // The caller's retry, until the replica caught up: stores nothing twice.
    await waitFor(() =>
      bus.emit('replicated.lagging', {}, { id: 'lagging-1' }).then(
        () => true,
        (e: unknown) => {
          if (e instanceof ReplicationTimeoutError) return false;
          throw e;
        },
      ),
    );
    const { id } = await bus.emit('replicated.after', {});
    await waitFor(() => listeners.handled.includes(id));
    expect(listeners.handled.filter((h) => h === 'lagging-1')).toHaveLength(1);
  });

  it.each([
    [false, 1],
    [true, 2],
  ])('with settles: %s, sends WAIT after the emit and %s', async (settles, waits) => {
    const { primary } = await pair();
    const prefix = `replicated-${++seq}`;
    const { bus, listeners } = await start({
      redis: primary.url,
      prefix,
      replication: { replicas: 1, timeoutMs: 2000, settles },
    });
    const onPrimary = new Redis(primary.url);
    clients.push(onPrimary);
    await onPrimary.config('RESETSTAT');
    const { id } = await bus.emit('replicated.settled', {});
    await waitFor(() => listeners.handled.includes(id));
    const stream = new RedisKeys(prefix).queue('replicated').stream;
    // Acknowledged (and deleted): the ack, and its WAIT when settles wait, have run.
    await waitFor(async () => (await onPrimary.xlen(stream)) === 0);
    const calls = async () =>
      Number(/cmdstat_wait:calls=(\d+)/.exec(await onPrimary.info('commandstats'))?.[1] ?? 0);
    await waitFor(async () => (await calls()) >= waits);
    expect(await calls()).toBe(waits);
  });
});
