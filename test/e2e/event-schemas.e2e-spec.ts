import { Injectable } from '@nestjs/common';
import * as v from 'valibot';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  EventName,
  EventQueues,
  EventValidationError,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
} from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { storeLegacyJobUntilDead } from '../support/legacy-job.js';
import { transportApps } from '../support/transport-apps.js';
import { waitFor } from '../support/wait-for.js';

/** zod: trims and lower-cases the email, coerces the count (its output passes it again). */
const SignupSchema = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email()),
  count: z.coerce.number().int().min(1),
});

/** valibot: the same event family, another library, through the same Standard Schema door. */
const PaymentSchema = v.object({ amount: v.pipe(v.number(), v.minValue(1)), currency: v.string() });

/** A class event carrying its schema as `static schema`. */
@EventName('parcel.sent')
class ParcelSent {
  static readonly schema = z.object({ weight: z.number().positive() });
  constructor(readonly weight: number) {}
}

@Injectable()
class SchemaListeners {
  readonly inProcess: unknown[] = [];
  readonly queued: unknown[] = [];
  readonly parcels: number[] = [];

  @OnEvent('user.signup')
  signedUp(event: EventEnvelope) {
    this.inProcess.push(event.data);
  }

  @OnEvent('user.signup')
  @ShouldQueue({ queue: 'signups', tries: 1 })
  mailSignup(event: EventEnvelope) {
    this.queued.push(event.data);
  }

  @OnEvent('payment.received')
  @ShouldQueue({ queue: 'payments', tries: 1 })
  paid(event: EventEnvelope) {
    this.queued.push(event.data);
  }

  @OnEvent(ParcelSent)
  @ShouldQueue({ queue: 'parcels', tries: 1 })
  parcel(event: EventEnvelope<ParcelSent>) {
    this.parcels.push(event.data.weight);
  }
}

const schemas = { 'user.signup': SignupSchema, 'payment.received': PaymentSchema };

describe.each(['memory', 'redis'] as const)(
  'Event schemas (Standard Schema) on the %s transport',
  (kind) => {
    const apps = transportApps(kind, 'schemas');

    async function start(options: EventsModuleOptions = { schemas }) {
      const app = await apps.start({ providers: [SchemaListeners] }, options);
      return {
        bus: app.get(EventBus),
        listeners: app.get(SchemaListeners),
        queues: app.get(EventQueues),
        transport: app.get<QueueTransport>(QUEUE_TRANSPORT),
      };
    }

    it('refuses an invalid payload at emit (zod) with every violation, before anything runs or is stored', async () => {
      const { bus, listeners, queues } = await start();
      const error = await bus
        .emit('user.signup', { email: 'nope', count: 0 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventValidationError);
      const refused = error as EventValidationError;
      expect(refused.code).toBe('EVENTS_INVALID_PAYLOAD');
      expect(refused.violations.map((x) => x.path).sort()).toEqual(['count', 'email']);
      expect(listeners.inProcess).toEqual([]);
      expect(await queues.counts('signups')).toMatchObject({ waiting: 0, delayed: 0, active: 0 });
    });

    it('refuses an invalid payload at emit (valibot), in emitAsync too', async () => {
      const { bus, queues } = await start();
      const error = await bus
        .emitAsync('payment.received', { amount: 0, currency: 5 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventValidationError);
      expect((error as EventValidationError).violations.map((x) => x.path).sort()).toEqual([
        'amount',
        'currency',
      ]);
      expect(await queues.counts('payments')).toMatchObject({ waiting: 0, delayed: 0, active: 0 });
    });

    it("hands every listener the schema's output (transforms and coercions), in-process and queued", async () => {
      const { bus, listeners } = await start();
      const envelope = await bus.emit('user.signup', { email: '  Ada@Example.COM ', count: '3' });
      const output = { email: 'ada@example.com', count: 3 };
      expect(envelope.data).toEqual(output);
      expect(listeners.inProcess).toEqual([output]);
      await waitFor(() => listeners.queued.length === 1);
      expect(listeners.queued).toEqual([output]);
    });

    it('validates a class event by its static schema at emit', async () => {
      const { bus, listeners } = await start({});
      await expect(bus.emit(new ParcelSent(-1))).rejects.toBeInstanceOf(EventValidationError);
      await bus.emit(new ParcelSent(2));
      await waitFor(() => listeners.parcels.length === 1);
      expect(listeners.parcels).toEqual([2]);
    });

    it('dead-letters a queued job that no longer fits its schema (reason invalid-payload), without running the handler', async () => {
      const { listeners, queues, transport } = await start();
      // A job from an older producer, stored without the schema's check.
      const dead = await storeLegacyJobUntilDead(transport, queues, {
        name: 'user.signup',
        data: { email: 'legacy', count: 'many' },
        queue: 'signups',
        listener: 'SchemaListeners.mailSignup',
      });
      expect(dead.reason).toBe('invalid-payload');
      expect(dead.error).toMatch(/email/);
      expect(listeners.queued).toEqual([]);
    });
  },
);
