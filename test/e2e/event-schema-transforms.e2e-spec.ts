import { Injectable } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import * as v from 'valibot';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventReplayer,
  EventsClient,
  EventStore,
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

// Schemas whose transforms change the type: their output would not pass them again, so a queue
// that stored the output and a worker that checked it again would dead-letter every job.

/** zod: a string becomes a Date, a string a number, and a number is doubled (not idempotent). */
const ShiftSchema = z.object({
  at: z.iso.datetime().transform((s) => new Date(s)),
  hours: z.string().transform(Number),
  points: z.number().transform((n) => n * 2),
});

/** valibot: the same kinds of transforms, through the same Standard Schema door. */
const RefundSchema = v.object({
  at: v.pipe(
    v.string(),
    v.isoTimestamp(),
    v.transform((s) => new Date(s)),
  ),
  cents: v.pipe(v.string(), v.transform(Number)),
  points: v.pipe(
    v.number(),
    v.transform((n) => n * 2),
  ),
});

/** Declared with `bus.addValidator`, not `forRoot`: the worker runs it too. */
const TipSchema = z.object({ amount: z.string().transform(BigInt) });

const schemas = { 'shift.logged': ShiftSchema, 'refund.issued': RefundSchema };

@Injectable()
class TransformListeners {
  readonly inProcess: unknown[] = [];
  readonly queued: unknown[] = [];

  @OnEvent(['shift.logged', 'refund.issued', 'tip.given'])
  seen(event: EventEnvelope) {
    this.inProcess.push(event.data);
  }

  @OnEvent(['shift.logged', 'refund.issued', 'tip.given'])
  @ShouldQueue({ queue: 'transforms', tries: 1 })
  handle(event: EventEnvelope) {
    this.queued.push(event.data);
  }
}

const at = '2026-03-01T10:00:00.000Z';

describe.each(['memory', 'redis'] as const)('Schema transforms on the %s transport', (kind) => {
  const apps = transportApps(kind, 'transforms');

  async function start(options: EventsModuleOptions = {}) {
    const app = await apps.start({ providers: [TransformListeners] }, { schemas, ...options });
    return {
      app,
      bus: app.get(EventBus),
      listeners: app.get(TransformListeners),
      queues: app.get(EventQueues),
      transport: app.get<QueueTransport>(QUEUE_TRANSPORT),
    };
  }

  it.each([
    [
      'zod',
      'shift.logged',
      { at, hours: '8', points: 5 },
      { at: new Date(at), hours: 8, points: 10 },
    ],
    [
      'valibot',
      'refund.issued',
      { at, cents: '250', points: 5 },
      { at: new Date(at), cents: 250, points: 10 },
    ],
  ] as const)(
    '%s: a type-changing transform reaches queued handlers as the output, once (the job carries the input)',
    async (_library, name, input, output) => {
      const { bus, listeners, queues } = await start();
      const emitted = await bus.emit(name as never, input as never);
      expect(emitted.data).toEqual(output);
      expect(listeners.inProcess).toEqual([output]);
      await waitFor(() => listeners.queued.length === 1);
      expect(listeners.queued).toEqual([output]);
      expect((listeners.queued[0] as { at: unknown }).at).toBeInstanceOf(Date);
      expect(await queues.listDead('transforms')).toEqual([]);
    },
  );

  it('a schema given to bus.addValidator is run by the worker too', async () => {
    const { bus, listeners } = await start();
    bus.addValidator('tip.given', TipSchema);
    await bus.emit('tip.given', { amount: '12' });
    await waitFor(() => listeners.queued.length === 1);
    expect(listeners.queued).toEqual([{ amount: 12n }]);
    expect(listeners.inProcess).toEqual([{ amount: 12n }]);
  });

  it.each([
    ['zod', 'shift.logged', { at: new Date(at), hours: 8, points: 10 }, /at|hours/],
    ['valibot', 'refund.issued', { at: new Date(at), cents: 250, points: 10 }, /at|cents/],
  ] as const)(
    '%s: a job that no longer fits (stored as the output by an older producer) goes to dead letters as invalid-payload',
    async (_library, name, stale, message) => {
      const { listeners, queues, transport } = await start();
      const dead = await storeLegacyJobUntilDead(transport, queues, {
        name,
        data: stale,
        queue: 'transforms',
        listener: 'TransformListeners.handle',
      });
      expect(dead.reason).toBe('invalid-payload');
      expect(dead.error).toMatch(message);
      expect(listeners.queued).toEqual([]);
    },
  );

  it("the event store records the schema's output, and a replay hands it to listeners as recorded", async () => {
    const { app, bus, listeners } = await start({ store: { record: true } });
    await bus.emit('shift.logged', { at, hours: '8', points: 5 });
    const output = { at: new Date(at), hours: 8, points: 10 };
    const store = app.get(EventStore);
    const recorded = [];
    for await (const event of store.readAll({ pattern: 'shift.*' })) recorded.push(event.data);
    expect(recorded).toEqual([output]);
    await waitFor(() => listeners.queued.length === 1);
    listeners.inProcess.length = 0;
    await app.get(EventReplayer).replay({ to: TransformListeners.prototype.seen });
    // Once, not doubled again: a replay does not run the schema on its recorded output.
    expect(listeners.inProcess).toEqual([output]);
  });

  it.runIf(kind === 'redis')(
    'an EventsClient event fans out as emitted: each queued handler gets the output',
    async () => {
      const { listeners, queues } = await start();
      const client = new EventsClient({ redis: apps.server!.url, prefix: apps.prefix });
      try {
        await lastValueFrom(client.emit('shift.logged', { at, hours: '8', points: 5 }));
      } finally {
        await client.close();
      }
      await waitFor(() => listeners.queued.length === 1);
      expect(listeners.queued).toEqual([{ at: new Date(at), hours: 8, points: 10 }]);
      expect(await queues.listDead('transforms')).toEqual([]);
    },
  );
});
