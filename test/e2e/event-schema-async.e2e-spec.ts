import { Injectable } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  EventName,
  EventQueues,
  EventsClient,
  EventValidationError,
  OnEvent,
  QUEUE_TRANSPORT,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { storeLegacyJobUntilDead } from '../support/legacy-job.js';
import { transportApps } from '../support/transport-apps.js';
import { waitFor } from '../support/wait-for.js';

/** Schema checks that ask something else (a directory, a database): they answer with a promise. */
const blocked = new Set(['eve@blocked.test']);
const isAllowed = async (email: string): Promise<boolean> => {
  await new Promise((resolve) => setImmediate(resolve));
  return !blocked.has(email);
};

/** zod with an async refinement, and a transform that changes the type. */
const InviteSchema = z.object({
  email: z.string().toLowerCase().refine(isAllowed, { message: 'is blocked' }),
  at: z.iso.datetime().transform((s) => new Date(s)),
});

/** The same event with a sync schema: its emit stays synchronous. */
const NoteSchema = z.object({ text: z.string().min(1) });

/** A class event whose static schema is async. */
@EventName('badge.granted')
class BadgeGranted {
  static readonly schema = z.object({ holder: z.string().refine(isAllowed, 'is blocked') });
  constructor(readonly holder: string) {}
}

@Injectable()
class AsyncListeners {
  readonly inProcess: unknown[] = [];
  readonly queued: unknown[] = [];

  @OnEvent(['invite.sent', 'note.added', BadgeGranted])
  seen(event: EventEnvelope) {
    this.inProcess.push(event.data);
    return 'seen';
  }

  @OnEvent(['invite.sent', BadgeGranted])
  @ShouldQueue({ queue: 'async', tries: 1 })
  handle(event: EventEnvelope) {
    this.queued.push(event.data);
  }
}

const at = '2026-03-01T10:00:00.000Z';
const schemas = { 'invite.sent': InviteSchema, 'note.added': NoteSchema };

describe.each(['memory', 'redis'] as const)('Async schemas on the %s transport', (kind) => {
  const apps = transportApps(kind, 'async');

  async function start() {
    const app = await apps.start({ providers: [AsyncListeners] }, { schemas });
    return {
      bus: app.get(EventBus),
      listeners: app.get(AsyncListeners),
      queues: app.get(EventQueues),
      transport: app.get<QueueTransport>(QUEUE_TRANSPORT),
    };
  }

  it('an emit awaits the schema before any listener runs; listeners get its output, queued ones too', async () => {
    const { bus, listeners } = await start();
    const emitted = bus.emit('invite.sent', { email: 'Ada@Example.test', at });
    expect(listeners.inProcess).toEqual([]);
    const envelope = await emitted;
    const output = { email: 'ada@example.test', at: new Date(at) };
    expect(envelope.data).toEqual(output);
    expect(listeners.inProcess).toEqual([output]);
    await waitFor(() => listeners.queued.length === 1);
    expect(listeners.queued).toEqual([output]);
  });

  it('an event with a sync schema keeps the synchronous emit: its listeners ran when emit returns', async () => {
    const { bus, listeners } = await start();
    const emitted = bus.emit('note.added', { text: 'hi' });
    expect(listeners.inProcess).toEqual([{ text: 'hi' }]);
    await emitted;
  });

  it('refuses what the async check refuses, with EventValidationError, before anything is stored or runs', async () => {
    const { bus, listeners, queues } = await start();
    const error = await bus
      .emit('invite.sent', { email: 'EVE@blocked.test', at })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).violations).toEqual([
      { path: 'email', message: 'is blocked' },
    ]);
    await expect(
      bus.emitAsync('invite.sent', { email: 'eve@blocked.test', at }),
    ).rejects.toBeInstanceOf(EventValidationError);
    await expect(
      bus.until('invite.sent', { email: 'eve@blocked.test', at }),
    ).rejects.toBeInstanceOf(EventValidationError);
    expect(listeners.inProcess).toEqual([]);
    expect(await queues.counts('async')).toMatchObject({ waiting: 0, delayed: 0, active: 0 });
  });

  it('emitAsync and until hand their listeners the output once the schema answered', async () => {
    const { bus, listeners } = await start();
    expect(await bus.emitAsync('invite.sent', { email: 'a@b.test', at })).toEqual(['seen']);
    expect(await bus.until('invite.sent', { email: 'b@b.test', at })).toBe('seen');
    expect(listeners.inProcess).toEqual([
      { email: 'a@b.test', at: new Date(at) },
      { email: 'b@b.test', at: new Date(at) },
    ]);
  });

  it('emitMany awaits every async schema first: one refusal and nothing is stored or runs', async () => {
    const { bus, listeners, queues } = await start();
    const refused = await bus
      .emitMany([
        { name: 'invite.sent', data: { email: 'a@b.test', at } },
        { name: 'note.added', data: { text: 'sync' } },
        { name: 'invite.sent', data: { email: 'eve@blocked.test', at } },
      ])
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EventValidationError);
    expect(listeners.inProcess).toEqual([]);
    expect(await queues.counts('async')).toMatchObject({ waiting: 0, delayed: 0, active: 0 });
    const envelopes = await bus.emitMany([
      { name: 'invite.sent', data: { email: 'A@b.test', at } },
      { name: 'note.added', data: { text: 'sync' } },
    ]);
    const output = { email: 'a@b.test', at: new Date(at) };
    expect(envelopes.map((e) => e.data)).toEqual([output, { text: 'sync' }]);
    expect(listeners.inProcess).toEqual([output, { text: 'sync' }]);
    await waitFor(() => listeners.queued.length === 1);
    expect(listeners.queued).toEqual([output]);
  });

  it("a class event's async static schema is awaited at emit and in the worker", async () => {
    const { bus, listeners, queues } = await start();
    await expect(bus.emit(new BadgeGranted('eve@blocked.test'))).rejects.toBeInstanceOf(
      EventValidationError,
    );
    expect(await queues.counts('async')).toMatchObject({ waiting: 0, delayed: 0 });
    await bus.emit(new BadgeGranted('ada@example.test'));
    await waitFor(() => listeners.queued.length === 1);
    expect(listeners.queued[0]).toBeInstanceOf(BadgeGranted);
  });

  it('the worker awaits the schema: a queued job it refuses goes to dead letters as invalid-payload', async () => {
    const { listeners, queues, transport } = await start();
    const dead = await storeLegacyJobUntilDead(transport, queues, {
      name: 'invite.sent',
      data: { email: 'eve@blocked.test', at },
      queue: 'async',
      listener: 'AsyncListeners.handle',
    });
    expect(dead.reason).toBe('invalid-payload');
    expect(dead.error).toMatch(/email: is blocked/);
    expect(listeners.queued).toEqual([]);
  });

  it.runIf(kind === 'redis')(
    'EventsClient with schemas: awaits the async check before storing, workers hand the output',
    async () => {
      const { listeners, queues } = await start();
      const client = new EventsClient({ redis: apps.server!.url, prefix: apps.prefix, schemas });
      try {
        const refused = await lastValueFrom(
          client.emit('invite.sent', { email: 'eve@blocked.test', at }),
        ).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(EventValidationError);
        expect(await queues.counts('events.inbound')).toMatchObject({ waiting: 0, delayed: 0 });
        const sent = await lastValueFrom(
          client.emit<EventEnvelope>('invite.sent', { email: 'Ada@B.test', at }),
        );
        const output = { email: 'ada@b.test', at: new Date(at) };
        expect(sent.data).toEqual(output);
        await waitFor(() => listeners.queued.length === 1);
        expect(listeners.queued).toEqual([output]);
      } finally {
        await client.close();
      }
    },
  );
});
