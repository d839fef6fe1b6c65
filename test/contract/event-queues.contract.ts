import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DrainTimeoutError,
  EventBus,
  EventName,
  EventQueues,
  InvalidOptionError,
  OnEvent,
  QueueInUseError,
  ShouldQueue,
  UnknownQueueError,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { gate, QueueProbe } from '../fixtures/queue-probe.js';
import type { ContractTarget } from './queue-transport.contract.js';
import { registerQueueWatchTests } from './queue-watch.contract.js';

@EventName('parcel.lost')
class ParcelLost {
  constructor(
    readonly parcelId: string,
    readonly at: string,
  ) {}

  label(): string {
    return `${this.parcelId}@${this.at}`;
  }
}

@Injectable()
class InspectedListeners {
  constructor(private readonly probe: QueueProbe) {}

  @OnEvent('mail.*')
  @ShouldQueue({ queue: 'emails', tries: 1 })
  mail(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('mail', event, context);
  }

  @OnEvent(ParcelLost)
  @ShouldQueue({ queue: 'emails', tries: 1 })
  lost(event: EventEnvelope<ParcelLost>, context: ListenerContext) {
    return this.probe.run('lost', event, context);
  }
}

/** `EventQueues` on a transport: unknown queues refused, dead letters parsed, drain(). */
export function runEventQueuesContract(target: ContractTarget): void {
  describe(`EventQueues contract: ${target.name}`, () => {
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

    registerQueueWatchTests(target, apps);

    async function start(extra: { worker?: boolean; visibilityTimeout?: number } = {}) {
      const app = await createTestApp(
        { providers: [QueueProbe, InspectedListeners] },
        { ...(await target.options()), ...extra },
      );
      apps.push(app);
      return { bus: app.get(EventBus), probe: app.get(QueueProbe), queues: app.get(EventQueues) };
    }

    it('refuses a queue name nobody knows, naming the known queues, and creates nothing', async () => {
      const { queues } = await start();
      for (const call of [
        () => queues.counts('emials'),
        () => queues.listDead('emials'),
        () => queues.retryDead('emials', 'all'),
        () => queues.purgeDead('emials'),
        () => queues.forgetDead('emials', 'x'),
        () => queues.pruneDead('emials', { olderThanMs: 1 }),
        () => queues.obliterate('emials', { force: true }),
        () => queues.listJobs('emials', 'waiting'),
        () => queues.getJob('emials', 'x'),
        () => queues.pause('emials'),
        () => queues.resume('emials'),
        () => queues.isPaused('emials'),
        () => queues.drain({ queues: ['emials'] }),
      ]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(UnknownQueueError);
        expect((error as UnknownQueueError).code).toBe('EVENTS_UNKNOWN_QUEUE');
        expect((error as Error).message).toContain('"emials"');
        expect((error as Error).message).toContain('Known queues: "emails"');
      }
      // (A worker app on Redis also works `events.inbound`, where EventsClient events wait.)
      const known = Object.keys(await queues.counts()).filter((q) => q !== 'events.inbound');
      expect(known).toEqual(['emails']);
    });

    it('returns dead jobs with their event parsed, class events rehydrated', async () => {
      const { bus, probe, queues } = await start();
      probe.set('lost', () => {
        throw new Error('no courier');
      });
      probe.set('mail', () => {
        throw new Error('smtp down');
      });
      const lost = await bus.emit(new ParcelLost('p1', 'depot'), { metadata: { tenant: 't1' } });
      await bus.emit('mail.sent', { to: 'a@b.c', count: 2 });
      await queues.drain();
      const dead = await queues.listDead('emails');
      expect(dead).toHaveLength(2);
      const byListener = new Map(dead.map((d) => [d.listener, d]));
      const parcel = byListener.get('InspectedListeners.lost')?.payload;
      expect(parcel?.id).toBe(lost.id);
      expect(parcel?.metadata.tenant).toBe('t1');
      expect(parcel?.data).toBeInstanceOf(ParcelLost);
      expect((parcel?.data as ParcelLost).label()).toBe('p1@depot');
      const mail = byListener.get('InspectedListeners.mail');
      expect(mail?.payload?.data).toEqual({ to: 'a@b.c', count: 2 });
      expect(typeof mail?.rawPayload).toBe('string');
      expect(mail?.rawPayload).toContain('a@b.c');
    });

    /** Emits `n` mail events whose listener always fails, and waits until all are dead. */
    async function deadMails(n: number) {
      const started = await start();
      started.probe.set('mail', () => {
        throw new Error('smtp down');
      });
      for (let i = 0; i < n; i++) await started.bus.emit('mail.sent', { i });
      await started.queues.drain();
      return started;
    }

    it('pages dead jobs with an after cursor (the last id of the previous page)', async () => {
      const { queues } = await deadMails(5);
      const all = await queues.listDead('emails');
      expect(all.map((d) => d.payload?.data)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
      const first = await queues.listDead('emails', { limit: 2 });
      expect(first.map((d) => d.id)).toEqual([all[0].id, all[1].id]);
      const second = await queues.listDead('emails', { limit: 2, after: first[1].id });
      expect(second.map((d) => d.id)).toEqual([all[2].id, all[3].id]);
      const skipped = await queues.listDead('emails', { after: all[0].id, offset: 2, limit: 5 });
      expect(skipped.map((d) => d.id)).toEqual([all[3].id, all[4].id]);
      expect(await queues.listDead('emails', { after: all[4].id })).toEqual([]);
      await expect(queues.listDead('emails', { after: 'no-such-job' })).rejects.toBeInstanceOf(
        InvalidOptionError,
      );
    });

    it('retries one dead job by id, forgets one, and prunes by age', async () => {
      const { probe, queues } = await deadMails(4);
      const [a, b, c, d] = await queues.listDead('emails');
      probe.set('mail', () => undefined);
      expect(await queues.retryDead('emails', b.id)).toBe(1);
      await waitFor(() => probe.callsOf('mail').some((call) => call.event.id === b.payload?.id));
      expect(await queues.retryDead('emails', b.id)).toBe(0);
      expect(await queues.forgetDead('emails', c.id)).toBe(true);
      expect(await queues.forgetDead('emails', c.id)).toBe(false);
      expect((await queues.listDead('emails')).map((job) => job.id)).toEqual([a.id, d.id]);
      expect(await queues.pruneDead('emails', { olderThanMs: 60 * 60_000 })).toBe(0);
      let pruned = 0;
      await waitFor(async () => {
        pruned += await queues.pruneDead('emails', { olderThanMs: 1 });
        return pruned === 2;
      });
      expect(await queues.listDead('emails')).toEqual([]);
      expect((await queues.counts('emails')).dead).toBe(0);
    });

    it('obliterate removes every job of a queue, refused while a worker reads it unless forced', async () => {
      const idle = await start({ worker: false });
      await idle.bus.emit('mail.sent', { i: 1 });
      await idle.bus.emit('mail.later', { i: 2 }, { delay: 60_000 });
      expect(await idle.queues.obliterate('emails')).toBe(2);
      expect(await idle.queues.counts('emails')).toMatchObject({ waiting: 0, delayed: 0, dead: 0 });

      const busy = await deadMails(2);
      await busy.bus.emit('mail.later', {}, { delay: 60_000 });
      const refused = await busy.queues.obliterate('emails').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(QueueInUseError);
      expect((refused as QueueInUseError).code).toBe('EVENTS_QUEUE_IN_USE');
      expect(await busy.queues.counts('emails')).toMatchObject({ delayed: 1, dead: 2 });
      expect(await busy.queues.obliterate('emails', { force: true })).toBe(3);
      expect(await busy.queues.counts('emails')).toMatchObject({
        waiting: 0,
        delayed: 0,
        dead: 0,
        failed: 0,
      });
      busy.probe.set('mail', () => undefined);
      await busy.bus.emit('mail.after', {});
      await waitFor(() => busy.probe.callsOf('mail').some((c) => c.event.name === 'mail.after'));
    });

    it('lists waiting and delayed jobs, paged, with their events parsed; getJob finds each', async () => {
      const { bus, queues } = await start({ worker: false });
      const before = Date.now();
      const emitted = [];
      for (let i = 0; i < 3; i++) emitted.push(await bus.emit('mail.sent', { i }));
      const later = await bus.emit(new ParcelLost('p9', 'hub'), { delay: 60_000 });
      const waiting = await queues.listJobs('emails', 'waiting');
      expect(waiting.map((job) => job.payload?.id)).toEqual(emitted.map((e) => e.id));
      expect(waiting[0]).toMatchObject({
        queue: 'emails',
        listener: 'InspectedListeners.mail',
        state: 'waiting',
        attemptsMade: 0,
        payload: { data: { i: 0 } },
      });
      expect(waiting[0].enqueuedAt).toBeGreaterThanOrEqual(before - 1000);
      const second = await queues.listJobs('emails', 'waiting', { offset: 1, limit: 1 });
      expect(second.map((job) => job.id)).toEqual([waiting[1].id]);
      const [delayed] = await queues.listJobs('emails', 'delayed');
      expect(delayed.payload?.data).toBeInstanceOf(ParcelLost);
      expect(delayed.runAt).toBeGreaterThanOrEqual(before + 60_000 - 1000);
      expect(await queues.getJob('emails', waiting[2].id)).toMatchObject({ state: 'waiting' });
      expect(await queues.getJob('emails', delayed.id)).toMatchObject({
        state: 'delayed',
        runAt: delayed.runAt,
      });
      expect(await queues.getJob('emails', 'no-such-job')).toBeUndefined();
      expect(later.id).toBe(delayed.payload?.id);
    });

    it('lists active jobs with their worker and how long they have run, across heartbeats', async () => {
      const { bus, probe, queues } = await start({ visibilityTimeout: 300 });
      const open = gate();
      probe.set('mail', () => open.promise);
      await bus.emit('mail.slow', { n: 1 });
      await waitFor(() => probe.callsOf('mail').length === 1);
      const calledAt = probe.callsOf('mail')[0].at;
      // Several heartbeats (every visibilityTimeout / 3) have extended the job by now.
      await waitFor(() => Date.now() - calledAt > 700);
      const listedAt = Date.now();
      const [active] = await queues.listJobs('emails', 'active');
      expect(active).toMatchObject({
        state: 'active',
        attemptsMade: 0,
        payload: { data: { n: 1 } },
      });
      expect(typeof active.heldBy).toBe('string');
      // Since the attempt started, not since the last heartbeat.
      expect(active.ageMs).toBeGreaterThanOrEqual(listedAt - calledAt - 20);
      expect(await queues.getJob('emails', active.id)).toMatchObject({ state: 'active' });
      open.open();
      await queues.drain();
      expect(await queues.listJobs('emails', 'active')).toEqual([]);
      expect(await queues.getJob('emails', active.id)).toBeUndefined();
    });

    it('getJob finds a dead job', async () => {
      const { queues } = await deadMails(1);
      const [dead] = await queues.listDead('emails');
      expect(await queues.getJob('emails', dead.id)).toMatchObject({
        state: 'dead',
        reason: 'failed',
        error: 'smtp down',
        payload: { data: { i: 0 } },
      });
    });

    it('pause() stops workers taking jobs (they wait), resume() runs them', async () => {
      const { bus, probe, queues } = await start();
      await bus.emit('mail.first', {});
      await waitFor(() => probe.callsOf('mail').length === 1);
      await queues.pause('emails');
      expect(await queues.isPaused('emails')).toBe(true);
      for (let i = 0; i < 3; i++) await bus.emit('mail.paused', { i });
      await waitFor(async () => (await queues.counts('emails')).waiting === 3);
      // Past several pause checks: still nothing taken.
      const pausedAt = Date.now();
      await waitFor(() => Date.now() - pausedAt > 1200);
      expect(await queues.counts('emails')).toMatchObject({ waiting: 3, active: 0 });
      expect(probe.callsOf('mail')).toHaveLength(1);
      await queues.resume('emails');
      expect(await queues.isPaused('emails')).toBe(false);
      await waitFor(() => probe.callsOf('mail').length === 4);
      expect(
        probe
          .callsOf('mail')
          .slice(1)
          .map((c) => c.event.data),
      ).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    });

    it('drain() resolves once every job, delayed ones included, ran', async () => {
      const { bus, probe, queues } = await start();
      const open = gate();
      probe.set('mail', () => open.promise);
      for (let i = 0; i < 5; i++) await bus.emit('mail.now', { i });
      await bus.emit('mail.later', {}, { delay: 150 });
      const drained = queues.drain().then(() => probe.callsOf('mail').length);
      setTimeout(open.open, 50);
      expect(await drained).toBe(6);
      expect(await queues.counts('emails')).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
    });

    it('drain() rejects with DrainTimeoutError naming the busy queue', async () => {
      const { bus, probe, queues } = await start();
      const open = gate();
      probe.set('mail', () => open.promise);
      await bus.emit('mail.stuck', {});
      const error = await queues.drain({ timeoutMs: 100 }).catch((e: unknown) => e);
      open.open();
      expect(error).toBeInstanceOf(DrainTimeoutError);
      expect((error as Error).message).toContain('"emails"');
    });
  });
}
