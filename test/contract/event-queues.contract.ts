import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DrainTimeoutError,
  EventBus,
  EventName,
  EventQueues,
  OnEvent,
  ShouldQueue,
  UnknownQueueError,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { gate, QueueProbe } from '../fixtures/queue-probe.js';
import type { ContractTarget } from './queue-transport.contract.js';

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

    async function start() {
      const app = await createTestApp(
        { providers: [QueueProbe, InspectedListeners] },
        await target.options(),
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
