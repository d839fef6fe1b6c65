import { Injectable, Logger, Scope, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventQueues,
  EventReplayer,
  EventValidationError,
  Failed,
  OnEvent,
  Replayable,
  ShouldQueue,
  UseEventMiddleware,
  type EventEnvelope,
  type EventMiddleware,
  type EventMiddlewareContext,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

/** What the listeners of this file saw: a singleton shared by every instance. */
@Injectable()
class Seen {
  readonly calls: {
    listener: string;
    event: EventEnvelope;
    context?: ListenerContext;
    instance?: object;
  }[] = [];
  readonly middleware: { listener: string; replayed?: string }[] = [];

  of(listener: string) {
    return this.calls.filter((c) => c.listener === listener);
  }
}

/** `@ShouldQueue` on the class: every listener of the provider is queued with its options. */
@Injectable()
@ShouldQueue({ queue: 'class-queued', tries: 2 })
class ClassQueued {
  constructor(private readonly seen: Seen) {}

  @OnEvent('account.opened')
  welcome(event: EventEnvelope, context: ListenerContext) {
    this.seen.calls.push({ listener: 'welcome', event, context });
  }

  @OnEvent('account.opened')
  flaky(event: EventEnvelope, context: ListenerContext) {
    this.seen.calls.push({ listener: 'flaky', event, context });
    if (context.attempt === 1) throw new Error('first attempt fails');
  }
}

/** A transient provider: resolved per event. */
@Injectable({ scope: Scope.TRANSIENT })
class TransientListener {
  constructor(private readonly seen: Seen) {}

  @OnEvent('transient.ping')
  ping(event: EventEnvelope) {
    this.seen.calls.push({ listener: 'transient', event, instance: this });
  }
}

/** A queued `@Failed` listener of an action run with `bus.around`. */
@Injectable()
class SaveFailures {
  constructor(private readonly seen: Seen) {}

  @Failed('user.save')
  @ShouldQueue({ queue: 'failures' })
  report(event: EventEnvelope, context: ListenerContext) {
    this.seen.calls.push({ listener: 'saveFailed', event, context });
  }
}

@Injectable()
class Quotes {
  constructor(private readonly seen: Seen) {}

  @OnEvent('quote.asked')
  answer(event: EventEnvelope<{ amount: number }>) {
    this.seen.calls.push({ listener: 'quote', event });
    return event.data.amount * 2;
  }
}

/** Records the listener and the replay mark of every call it wraps. */
@Injectable()
class SeenMiddleware implements EventMiddleware {
  constructor(private readonly seen: Seen) {}

  use(context: EventMiddlewareContext, next: () => Promise<unknown>) {
    this.seen.middleware.push({
      listener: context.listener.id,
      replayed: context.event.metadata.replayed,
    });
    return next();
  }
}

@Injectable()
@UseEventMiddleware(SeenMiddleware)
class Projection {
  constructor(private readonly seen: Seen) {}

  @OnEvent('stock.moved')
  @Replayable()
  project(event: EventEnvelope) {
    this.seen.calls.push({ listener: 'project', event });
  }
}

describe('README promises: listeners', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.close();
    app = undefined;
  });

  async function start(providers: Function[], options: EventsModuleOptions = {}) {
    app = await createTestApp({ providers: [Seen, ...(providers as never[])] }, options);
    return { bus: app.get(EventBus), seen: app.get(Seen), queues: app.get(EventQueues) };
  }

  it('queues every listener of a class decorated with @ShouldQueue, with its options', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { bus, seen, queues } = await start([ClassQueued]);
    const sent = await bus.emit('account.opened', {});
    await waitFor(async () => (await queues.counts('class-queued')).completed === 2);
    // Both ran from the class's queue (an in-process call has no queue).
    expect(seen.calls.length).toBeGreaterThanOrEqual(3);
    for (const call of seen.calls) {
      expect(call.event.id).toBe(sent.id);
      expect(call.context?.queue).toBe('class-queued');
    }
    // tries: 2 from the class: the flaky listener's second attempt ran and succeeded.
    expect(seen.of('flaky').map((c) => c.context?.attempt)).toEqual([1, 2]);
    expect(seen.of('welcome').map((c) => c.context?.attempt)).toEqual([1]);
  });

  it('resolves a transient listener per event', async () => {
    const { bus, seen } = await start([TransientListener]);
    const first = await bus.emit('transient.ping', { n: 1 });
    const second = await bus.emit('transient.ping', { n: 2 });
    await waitFor(() => seen.calls.length === 2);
    expect(seen.calls.map((c) => c.event.id)).toEqual([first.id, second.id]);
    const [a, b] = seen.calls.map((c) => c.instance);
    expect(a).toBeInstanceOf(TransientListener);
    expect(b).toBeInstanceOf(TransientListener);
    expect(a).not.toBe(b);
  });

  it('runs a queued @Failed listener from its queue when the action of bus.around throws', async () => {
    const { bus, seen, queues } = await start([SaveFailures]);
    await expect(
      bus.around('user.save', { email: 'ada@example.com' }, () => {
        throw new Error('duplicate email');
      }),
    ).rejects.toThrow('duplicate email');
    await waitFor(async () => (await queues.counts('failures')).completed === 1);
    const [call] = seen.of('saveFailed');
    expect(call.event.name).toBe('user.save.failed');
    expect(call.context?.queue).toBe('failures');
    expect(call.event.data).toMatchObject({
      data: { email: 'ada@example.com' },
      error: { name: 'Error', message: 'duplicate email' },
    });
  });

  it('until refuses an invalid payload before asking any listener', async () => {
    const { bus, seen } = await start([Quotes]);
    bus.addValidator<{ amount: number }>('quote.asked', (data) =>
      data.amount >= 0 ? [] : [{ path: 'amount', message: 'must be >= 0' }],
    );
    const error = await bus.until('quote.asked', { amount: -1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).violations).toEqual([
      { path: 'amount', message: 'must be >= 0' },
    ]);
    expect(seen.calls).toEqual([]);
    await expect(bus.until('quote.asked', { amount: 2 })).resolves.toBe(4);
  });

  it("replays through the listeners' middleware, global and class", async () => {
    const { bus, seen } = await start([Projection, SeenMiddleware], {
      store: { record: true },
      middleware: [SeenMiddleware],
    });
    await bus.emit('stock.moved', { sku: 'a' });
    await waitFor(() => seen.of('project').length === 1);
    expect(seen.middleware).toEqual([
      { listener: 'Projection.project', replayed: undefined },
      { listener: 'Projection.project', replayed: undefined },
    ]);
    seen.middleware.length = 0;

    const result = await app!.get(EventReplayer).replay({ to: Projection });
    expect(result.deliveries).toBe(1);
    expect(seen.of('project')).toHaveLength(2);
    // Global, then class middleware, both around the replayed call.
    expect(seen.middleware).toEqual([
      { listener: 'Projection.project', replayed: 'true' },
      { listener: 'Projection.project', replayed: 'true' },
    ]);
  });
});
