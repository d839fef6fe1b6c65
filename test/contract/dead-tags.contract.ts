import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventName,
  EventQueues,
  InvalidOptionError,
  InvalidTagsError,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { QueueProbe } from '../fixtures/queue-probe.js';
import type { ContractTarget } from './queue-transport.contract.js';

@EventName('invoice.failed')
class InvoiceFailed {
  constructor(
    readonly invoiceId: string,
    readonly tenant: string,
  ) {}

  tags(): string[] {
    return [`tenant:${this.tenant}`, 'billing'];
  }
}

/** What `BadTags.tags()` does, by case. */
const TAG_CASES: Record<string, () => unknown> = {
  string: () => 'billing',
  number: () => [1],
  empty: () => [''],
  padded: () => [' padded'],
  long: () => ['x'.repeat(65)],
  control: () => ['a\nb'],
  many: () => Array.from({ length: 17 }, (_, i) => `t${i}`),
  throws: () => {
    throw new Error('boom');
  },
  duplicates: () => ['b', 'a', 'b'],
};

@EventName('invoice.bad')
class BadTags {
  constructor(readonly kind: string) {}

  tags(): unknown {
    return TAG_CASES[this.kind]();
  }
}

@Injectable()
class BillingListeners {
  constructor(private readonly probe: QueueProbe) {}

  @OnEvent(InvoiceFailed)
  @OnEvent(BadTags)
  @OnEvent('invoice.plain')
  @ShouldQueue({ queue: 'billing', tries: 1 })
  charge(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('charge', event, context);
  }
}

/**
 * Tags (a class event's `tags()`) on a transport: stored with its jobs and dead letters, listed,
 * filtered by `listDead({ tag })`, dropped from the tag's listing when the job leaves the dead
 * letters; and `retryDead('all')` over many dead jobs.
 */
export function runDeadTagsContract(target: ContractTarget): void {
  describe(`dead-letter tags and retry all: ${target.name}`, () => {
    const apps: INestApplicationContext[] = [];
    beforeAll(async () => {
      await target.beforeAll?.();
    });
    afterAll(async () => {
      await target.afterAll?.();
    });
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    async function start(extra: { worker?: boolean | { concurrency: number } } = {}) {
      const app = await createTestApp(
        { providers: [QueueProbe, BillingListeners] },
        { ...(await target.options()), ...extra },
      );
      apps.push(app);
      const probe = app.get(QueueProbe);
      probe.set('charge', () => {
        throw new Error('card declined');
      });
      return { bus: app.get(EventBus), probe, queues: app.get(EventQueues) };
    }

    it('stores tags with jobs and dead letters; listDead filters by tag, paged', async () => {
      const { bus, queues } = await start({ worker: false });
      const waiting = await bus.emit(new InvoiceFailed('i0', 'acme'));
      await bus.emit(new InvoiceFailed('i1', 'acme'), { delay: 60_000 });
      const [listed] = await queues.listJobs('billing', 'waiting');
      expect(listed).toMatchObject({ id: expect.stringContaining(waiting.id) });
      expect(listed.tags).toEqual(['tenant:acme', 'billing']);
      expect((await queues.listJobs('billing', 'delayed'))[0].tags).toEqual([
        'tenant:acme',
        'billing',
      ]);
      expect((await queues.getJob('billing', listed.id))?.tags).toEqual(['tenant:acme', 'billing']);
      expect(await queues.obliterate('billing', { force: true })).toBe(2);

      const worker = await start();
      for (let i = 0; i < 3; i++) await worker.bus.emit(new InvoiceFailed(`a${i}`, 'acme'));
      await worker.bus.emit(new InvoiceFailed('g0', 'globex'));
      await worker.bus.emit('invoice.plain', { n: 1 });
      await worker.bus.emit(new InvoiceFailed('a3', 'acme'));
      await worker.queues.drain();

      const all = await worker.queues.listDead('billing');
      expect(all).toHaveLength(6);
      expect(all.find((d) => d.payload?.name === 'invoice.plain')?.tags).toEqual([]);
      const acme = await worker.queues.listDead('billing', { tag: 'tenant:acme' });
      expect(acme.map((d) => (d.payload?.data as InvoiceFailed).invoiceId)).toEqual([
        'a0',
        'a1',
        'a2',
        'a3',
      ]);
      expect(acme[0]).toMatchObject({ tags: ['tenant:acme', 'billing'], error: 'card declined' });
      expect(acme[0].payload?.data).toBeInstanceOf(InvoiceFailed);
      expect(await worker.queues.listDead('billing', { tag: 'billing' })).toHaveLength(5);
      expect(await worker.queues.listDead('billing', { tag: 'tenant:none' })).toEqual([]);

      const page = await worker.queues.listDead('billing', {
        tag: 'tenant:acme',
        offset: 1,
        limit: 2,
      });
      expect(page.map((d) => d.id)).toEqual([acme[1].id, acme[2].id]);
      const after = await worker.queues.listDead('billing', {
        tag: 'tenant:acme',
        after: acme[1].id,
      });
      expect(after.map((d) => d.id)).toEqual([acme[2].id, acme[3].id]);
      // A dead job without the tag is no cursor for that tag's listing.
      const globex = all.find((d) => d.tags.includes('tenant:globex'));
      await expect(
        worker.queues.listDead('billing', { tag: 'tenant:acme', after: globex?.id }),
      ).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(worker.queues.listDead('billing', { tag: '' })).rejects.toBeInstanceOf(
        InvalidOptionError,
      );
    });

    it('a job leaving the dead letters leaves its tags listing: retry, forget, prune, purge', async () => {
      const { bus, probe, queues } = await start();
      for (let i = 0; i < 4; i++) await bus.emit(new InvoiceFailed(`t${i}`, 'acme'));
      await queues.drain();
      const [a, b, c] = await queues.listDead('billing', { tag: 'tenant:acme' });

      expect(await queues.forgetDead('billing', a.id)).toBe(true);
      expect(await queues.retryDead('billing', b.id)).toBe(1);
      await queues.drain(); // fails again: dead again, with its tags
      const again = await queues.listDead('billing', { tag: 'tenant:acme' });
      expect(again.map((d) => d.id)).toEqual([c.id, again[1].id, b.id]);
      expect(again[2].tags).toEqual(['tenant:acme', 'billing']);

      probe.set('charge', () => undefined);
      expect(await queues.retryDead('billing', b.id)).toBe(1);
      await waitFor(() => probe.callsOf('charge').some((call) => call.event.id === b.payload?.id));
      expect((await queues.listDead('billing', { tag: 'billing' })).map((d) => d.id)).toEqual([
        c.id,
        again[1].id,
      ]);

      let pruned = 0;
      await waitFor(async () => {
        pruned += await queues.pruneDead('billing', { olderThanMs: 1 });
        return pruned === 2;
      });
      expect(await queues.listDead('billing', { tag: 'billing' })).toEqual([]);

      probe.set('charge', () => {
        throw new Error('card declined');
      });
      await bus.emit(new InvoiceFailed('t9', 'acme'));
      await queues.drain();
      expect(await queues.listDead('billing', { tag: 'billing' })).toHaveLength(1);
      expect(await queues.purgeDead('billing')).toBe(1);
      expect(await queues.listDead('billing', { tag: 'billing' })).toEqual([]);
    });

    it('refuses bad tags at emit with InvalidTagsError, storing nothing', async () => {
      const { bus, queues } = await start({ worker: false });
      const bad: [string, string][] = [
        ['string', 'not an array'],
        ['number', 'not a string'],
        ['empty', 'is not allowed'],
        ['padded', 'is not allowed'],
        ['long', 'is not allowed'],
        ['control', 'is not allowed'],
        ['many', 'more than 16'],
        ['throws', 'tags() threw: boom'],
      ];
      for (const [kind, reason] of bad) {
        const error = await (async () => bus.emit(new BadTags(kind)))().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidTagsError);
        expect((error as InvalidTagsError).code).toBe('EVENTS_INVALID_TAGS');
        expect((error as Error).message).toContain('invoice.bad');
        expect((error as Error).message).toContain(reason);
      }
      expect((await queues.counts('billing')).waiting).toBe(0);
      // Duplicates are dropped, order kept.
      await bus.emit(new BadTags('duplicates'));
      expect((await queues.listJobs('billing', 'waiting'))[0].tags).toEqual(['b', 'a']);
    });

    it('retryDead(all) over 10,000 dead jobs: each runs once, with fresh attempts, tags unindexed', async () => {
      const n = 10_000;
      const { bus, probe, queues } = await start({ worker: { concurrency: 50 } });
      for (let i = 0; i < n; i += 500) {
        await bus.emitMany(
          Array.from({ length: 500 }, (_, j) => ({
            event: new InvoiceFailed(`m${i + j}`, (i + j) % 2 === 0 ? 'even' : 'odd'),
          })),
        );
      }
      await queues.drain({ timeoutMs: 300_000 });
      expect((await queues.counts('billing')).dead).toBe(n);
      const dead = await queues.listDead('billing', { limit: 10_000 });
      const ids = new Set(dead.map((d) => d.payload?.id));
      expect(ids.size).toBe(n);

      await queues.pause('billing');
      probe.calls.length = 0;
      probe.set('charge', () => undefined);
      expect(await queues.retryDead('billing', 'all')).toBe(n);
      // Paused: moved back to waiting, none taken yet.
      expect(await queues.counts('billing')).toMatchObject({ dead: 0, waiting: n, active: 0 });
      expect(await queues.listDead('billing', { tag: 'tenant:even' })).toEqual([]);
      expect(await queues.retryDead('billing', 'all')).toBe(0);
      await queues.resume('billing');
      await queues.drain({ timeoutMs: 300_000 });

      const ran = probe.callsOf('charge');
      expect(ran).toHaveLength(n);
      const ranIds = new Set(ran.map((call) => call.event.id));
      expect(ranIds.size).toBe(n);
      expect([...ids].every((id) => ranIds.has(id as string))).toBe(true);
      expect(ran.every((call) => call.attempt === 1)).toBe(true);
      expect(await queues.counts('billing')).toMatchObject({ dead: 0, waiting: 0, delayed: 0 });
    }, 600_000);
  });
}
