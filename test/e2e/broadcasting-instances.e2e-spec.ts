import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { io } from 'socket.io-client';
import { EventBus, type BroadcastPayload } from 'nestjs-events';
import {
  OrderUpdated,
  record,
  subscribe,
  useBroadcastApps,
} from '../fixtures/broadcasting.fixtures.js';
import {
  compileLibrary,
  killAll,
  startWorkerProcess,
  type WorkerProcess,
} from '../fixtures/processes/worker-processes.js';
import { PresenceSweeper } from '../../lib/broadcasting/presence.sweeper.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

describe('Broadcasting instances that die, and a Redis that dies', () => {
  let redis: RedisServer;
  let lib: string;
  const processes: WorkerProcess[] = [];
  const apps = useBroadcastApps();
  beforeAll(async () => {
    lib = compileLibrary();
    redis = await startRedisServer();
  }, 240_000);
  afterEach(() => killAll(processes));
  afterAll(async () => {
    await redis.stop();
  });

  /** App `a` in this process, instance `b` in its own, and Bob's client connected to `b`. */
  async function twoInstances(prefix: string) {
    const a = await apps.start({ redis: redis.url, prefix });
    const b = await startWorkerProcess('broadcast-instance.mjs', {
      EVENTS_LIB: lib,
      REDIS_URL: redis.url,
      PREFIX: prefix,
    });
    processes.push(b);
    const port = /READY (\d+)/.exec(b.output)![1];
    const bob = io(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      auth: { token: 't-bob' },
      reconnection: false,
    });
    return { a, b, bob };
  }

  it('the presence members of a killed instance are gone from the channel', async () => {
    const prefix = 'dead-instance';
    const { a, b, bob } = await twoInstances(prefix);
    try {
      const ann = await apps.client(a, 't-ann');
      const joining = record(ann, 'presence:joining');
      await subscribe(ann, 'presence-room.9');
      expect((await subscribe(bob, 'presence-room.9')).members).toHaveLength(2);
      await waitFor(() => joining.length === 1);

      b.child.kill('SIGKILL');
      await b.exited;
      await ann.emitWithAck('unsubscribe', { channel: 'presence-room.9' });
      await waitFor(async () => (await subscribe(ann, 'presence-room.9')).members?.length === 1);
      expect((await subscribe(ann, 'presence-room.9')).members).toEqual([
        { id: 'u1', name: 'Ann' },
      ]);
    } finally {
      bob.disconnect();
    }
  });

  it("the clients of the survivors hear presence:leaving once for a killed instance's member", async () => {
    const prefix = 'dead-instance-leaving';
    const checks = vi.spyOn(PresenceSweeper.prototype, 'check');
    const { a, b, bob } = await twoInstances(prefix);
    try {
      const ann = await apps.client(a, 't-ann');
      const leaving = record(ann, 'presence:leaving');
      const joining = record(ann, 'presence:joining');
      await subscribe(ann, 'presence-room.7');
      expect((await subscribe(bob, 'presence-room.7')).members).toHaveLength(2);
      await waitFor(() => joining.length === 1);

      b.child.kill('SIGKILL');
      await b.exited;
      await waitFor(() => leaving.length === 1, {
        message: 'presence:leaving for Bob',
        timeoutMs: 20_000,
      });
      expect(leaving).toEqual([{ channel: 'presence-room.7', member: { id: 'u2', name: 'Bob' } }]);
      // Two more full checks after it: nothing is announced twice.
      const seen = checks.mock.calls.length;
      await waitFor(() => checks.mock.calls.length >= seen + 2, {
        message: 'two more checks',
        timeoutMs: 20_000,
      });
      await Promise.all(checks.mock.results.map((r) => r.value as Promise<void>));
      expect(leaving).toHaveLength(1);
      expect((await subscribe(ann, 'presence-room.7')).members).toEqual([
        { id: 'u1', name: 'Ann' },
      ]);
    } finally {
      bob.disconnect();
      checks.mockRestore();
    }
  });

  // A failed PUBLISH (or UNSUBSCRIBE at close) left unhandled would fail this file with an
  // "Unhandled Rejection" error.
  it('a broadcast while Redis is down is logged, never an unhandled rejection', async () => {
    const a = await apps.start({ redis: redis.url, prefix: 'redis-down' });
    const ann = await apps.client(a, 't-ann');
    await subscribe(ann, 'private-orders.1');
    const got = record<BroadcastPayload>(ann, 'order.updated');
    await redis.kill();
    try {
      // Immediate: the adapter's PUBLISH fails; this instance's own sockets still get it.
      await a.get(EventBus).emit(new OrderUpdated('1', 1));
      await waitFor(() => got.length === 1);
    } finally {
      await redis.start();
    }
  });
});
