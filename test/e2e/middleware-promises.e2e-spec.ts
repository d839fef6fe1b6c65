import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  COORDINATION_STORE,
  EventBus,
  EventQueues,
  Idempotent,
  OnEvent,
  ShouldQueue,
  Throttle,
  UseEventMiddleware,
  WithoutOverlapping,
  type CoordinationStore,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { gate } from '../fixtures/queue-probe.js';

const LEASE_MS = 1000;
const TTL_MS = 300;

/** Calls of the listeners of one app: start and end times per listener. */
@Injectable()
class Calls {
  readonly list: { listener: string; data: unknown; start: number; end?: number }[] = [];
  blocker: Promise<void> | undefined;

  of(listener: string) {
    return this.list.filter((c) => c.listener === listener);
  }

  async record(listener: string, event: EventEnvelope, block = false): Promise<void> {
    const call: (typeof this.list)[number] = { listener, data: event.data, start: Date.now() };
    this.list.push(call);
    if (block) await this.blocker;
    call.end = Date.now();
  }
}

@Injectable()
class ThrottledListeners {
  constructor(private readonly calls: Calls) {}

  @OnEvent('throttle.shared')
  @ShouldQueue({ queue: 'throttled' })
  @UseEventMiddleware(Throttle(1, 60_000, 'shared-api'))
  sharedA(event: EventEnvelope) {
    return this.calls.record('sharedA', event);
  }

  @OnEvent('throttle.shared')
  @ShouldQueue({ queue: 'throttled' })
  @UseEventMiddleware(Throttle(1, 60_000, 'shared-api'))
  sharedB(event: EventEnvelope) {
    return this.calls.record('sharedB', event);
  }

  @OnEvent('throttle.shared')
  @ShouldQueue({ queue: 'throttled' })
  @UseEventMiddleware(Throttle(1, 60_000))
  ownC(event: EventEnvelope) {
    return this.calls.record('ownC', event);
  }

  @OnEvent('throttle.shared')
  @ShouldQueue({ queue: 'throttled' })
  @UseEventMiddleware(Throttle(1, 60_000))
  ownD(event: EventEnvelope) {
    return this.calls.record('ownD', event);
  }

  @OnEvent('throttle.tenant')
  @ShouldQueue({ queue: 'throttled' })
  @UseEventMiddleware(
    Throttle(1, 60_000, (ctx) => `tenant:${(ctx.event.data as { tenant: string }).tenant}`),
  )
  perTenant(event: EventEnvelope) {
    return this.calls.record('perTenant', event);
  }
}

@Injectable()
class LockedListeners {
  constructor(private readonly calls: Calls) {}

  @OnEvent('ledger.post')
  @ShouldQueue({ queue: 'ledger' })
  @UseEventMiddleware(WithoutOverlapping('ledger', { leaseMs: LEASE_MS, releaseAfterMs: 50 }))
  post(event: EventEnvelope) {
    return this.calls.record('post', event, true);
  }
}

@Injectable()
class OnceListeners {
  constructor(private readonly calls: Calls) {}

  @OnEvent('payment.captured')
  @UseEventMiddleware(
    Idempotent({ ttlMs: TTL_MS, key: (ctx) => (ctx.event.data as { key: string }).key }),
  )
  capture(event: EventEnvelope) {
    return this.calls.record('capture', event);
  }
}

function runMiddlewarePromises(name: string, options: () => EventsModuleOptions): void {
  describe(`README promises: middleware (${name})`, () => {
    let app: INestApplicationContext | undefined;

    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    async function start(providers: Function[], extra: EventsModuleOptions = {}) {
      app = await createTestApp(
        { providers: [Calls, ...(providers as never[])] },
        { ...options(), ...extra },
      );
      return {
        bus: app.get(EventBus),
        calls: app.get(Calls),
        queues: app.get(EventQueues),
        store: app.get<CoordinationStore>(COORDINATION_STORE),
      };
    }

    it('Throttle: one limit shared by listeners naming the same key, one per listener otherwise', async () => {
      const { bus, calls, queues } = await start([ThrottledListeners]);
      await bus.emit('throttle.shared', {});
      for (const tenant of ['t1', 't1', 't2']) await bus.emit('throttle.tenant', { tenant });
      // sharedA and sharedB share one call a minute; ownC and ownD have one each; t1 and t2 too.
      await waitFor(async () => {
        const c = await queues.counts('throttled');
        return c.completed === 5 && c.delayed === 2;
      });
      expect(calls.of('sharedA').length + calls.of('sharedB').length).toBe(1);
      expect(calls.of('ownC')).toHaveLength(1);
      expect(calls.of('ownD')).toHaveLength(1);
      expect(
        calls
          .of('perTenant')
          .map((c) => (c.data as { tenant: string }).tenant)
          .sort(),
      ).toEqual(['t1', 't2']);
    });

    it('WithoutOverlapping: renews the lock while the attempt runs past leaseMs', async () => {
      // Two slots: the second job is taken while the first runs, and meets the lock.
      const { bus, calls, store, queues } = await start([LockedListeners], {
        worker: { concurrency: 2 },
      });
      const running = gate();
      calls.blocker = running.promise;
      await bus.emit('ledger.post', { n: 1 });
      await waitFor(() => calls.of('post').length === 1);
      const startedAt = calls.of('post')[0].start;
      // Several leases later, the lock is still held: nobody else can take it.
      await waitFor(() => Date.now() - startedAt >= 2.5 * LEASE_MS, { intervalMs: 20 });
      expect(await store.acquire('lock:ledger', 'intruder', 10_000)).toMatchObject({
        isAcquired: false,
      });
      // A second job with the same key is released, not run, while the first still runs.
      await bus.emit('ledger.post', { n: 2 });
      await waitFor(async () => (await queues.counts('ledger')).delayed >= 1);
      expect(calls.of('post')).toHaveLength(1);
      running.open();
      await waitFor(() => calls.of('post').length === 2 && calls.of('post')[1].end !== undefined);
      const [first, second] = calls.of('post');
      expect(second.start).toBeGreaterThanOrEqual(first.end!);
    });

    it('Idempotent: runs once per key within ttlMs, and again once ttlMs has passed', async () => {
      const { bus, calls } = await start([OnceListeners]);
      await bus.emitAsync('payment.captured', { key: 'k1' });
      const doneAt = Date.now();
      await bus.emitAsync('payment.captured', { key: 'k1' });
      await bus.emitAsync('payment.captured', { key: 'k2' });
      // Once the TTL has passed since the first run was marked done, k1 runs again.
      await waitFor(() => Date.now() > doneAt + TTL_MS, { intervalMs: 20 });
      await bus.emitAsync('payment.captured', { key: 'k1' });

      const k1 = calls.of('capture').filter((c) => (c.data as { key: string }).key === 'k1');
      expect(k1.length).toBeGreaterThanOrEqual(2);
      // Never two runs of one key closer than the TTL.
      for (let i = 1; i < k1.length; i++) {
        expect(k1[i].start - k1[i - 1].end!).toBeGreaterThanOrEqual(TTL_MS);
      }
      expect(
        calls.of('capture').filter((c) => (c.data as { key: string }).key === 'k2'),
      ).toHaveLength(1);
    });
  });
}

let server: RedisServer;
let seq = 0;

runMiddlewarePromises('embedded transport', () => ({}));

describe('on Redis', () => {
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  runMiddlewarePromises('Redis transport', () => ({
    redis: server.url,
    prefix: `mw-promises-${process.pid}-${++seq}`,
  }));
});
