import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { from, map, mergeMap, delay, type Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventName,
  OnEvent,
  Saga,
  SagaDefinitionError,
  InvalidOptionError,
  ofEvent,
  type EventEnvelope,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

@EventName('invoice.requested')
class InvoiceRequested {
  constructor(readonly orderId: string) {}
}

@Injectable()
class Outputs {
  readonly seen: EventEnvelope[] = [];
  @OnEvent(['invoice.**', 'shipping.**', 'late.**', 'promised.**'])
  record(event: EventEnvelope): void {
    this.seen.push(event);
  }
  named(name: string): EventEnvelope[] {
    return this.seen.filter((e) => e.name === name);
  }
}

@Injectable()
class OrderSagas {
  readonly errors: { error: unknown; event: EventEnvelope | undefined }[] = [];
  readonly attempts = new Map<string, number>();

  /** Throws in `map` for orders marked bad; the saga must live on. */
  @Saga({ onError: 'report' })
  invoices = (events$: Observable<EventEnvelope>) =>
    events$.pipe(
      ofEvent<{ id: string; bad?: boolean }>('order.placed'),
      map((e) => {
        if (e.data.bad) throw new Error(`bad order ${e.data.id}`);
        return new InvoiceRequested(e.data.id);
      }),
    );

  /** A named output after `delay`, and one after a promise in `mergeMap`. */
  @Saga()
  late(events$: Observable<EventEnvelope>) {
    return events$.pipe(
      ofEvent<{ id: string }>('order.placed'),
      delay(5),
      map((e) => ({ name: 'late.order', data: { id: e.data.id } })),
    );
  }

  @Saga({ onError: (error) => void error, retry: { tries: 1 } })
  promised = (events$: Observable<EventEnvelope>) =>
    events$.pipe(
      ofEvent<{ id: string }>('order.placed'),
      mergeMap((e) => from(Promise.resolve(e.data.id))),
      map((id) => ({ name: 'promised.order', data: { id } })),
    );

  /** An output the bus refuses (a bad name): reported, the saga goes on. */
  @Saga({ onError: 'report' })
  refused = (events$: Observable<EventEnvelope>) =>
    events$.pipe(
      ofEvent<{ id: string; refuse?: boolean }>('order.shipped'),
      map((e) =>
        e.data.refuse
          ? { name: 'bad name with spaces', data: {} }
          : { name: 'shipping.label', data: { id: e.data.id } },
      ),
    );

  /** Fails twice per event, then succeeds: retry feeds the event again. */
  @Saga({ onError: 'report', retry: { tries: 3, backoff: 1 } })
  flaky = (events$: Observable<EventEnvelope>) =>
    events$.pipe(
      ofEvent<{ id: string }>('order.flaky'),
      mergeMap(async (e) => {
        const n = (this.attempts.get(e.data.id) ?? 0) + 1;
        this.attempts.set(e.data.id, n);
        if (n < 3) throw new Error(`try ${n}`);
        return { name: 'invoice.flaky', data: { id: e.data.id, tries: n } };
      }),
    );

  report(error: unknown, event: EventEnvelope | undefined): void {
    this.errors.push({ error, event });
  }
}

describe('Reactive sagas (@Saga)', () => {
  let app: INestApplicationContext | undefined;
  let logged: string[];
  beforeEach(() => {
    logged = [];
    vi.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      logged.push(String(message));
    });
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    vi.restoreAllMocks();
  });

  async function start() {
    app = await createTestApp({ providers: [OrderSagas, Outputs] });
    return { bus: app.get(EventBus), sagas: app.get(OrderSagas), outputs: app.get(Outputs) };
  }

  it('emits outputs caused by the triggering event, also after delay and a promise', async () => {
    const { bus, outputs } = await start();
    const placed = await bus.emit(
      'order.placed',
      { id: 'o1' },
      { metadata: { correlationId: 'c-1' } },
    );
    await waitFor(() => outputs.seen.length === 3);
    for (const name of ['invoice.requested', 'late.order', 'promised.order']) {
      const [out] = outputs.named(name);
      expect(out.metadata.causationId).toBe(placed.id);
      expect(out.metadata.correlationId).toBe('c-1');
    }
    expect(outputs.named('invoice.requested')[0].data).toBeInstanceOf(InvoiceRequested);
  });

  it('an operator that throws is reported once with its event, and the next event is handled', async () => {
    const { bus, sagas, outputs } = await start();
    const bad = await bus.emit('order.placed', { id: 'b1', bad: true });
    await bus.emit('order.placed', { id: 'o2' });
    await waitFor(() => outputs.named('invoice.requested').length === 1);
    expect(sagas.errors).toHaveLength(1);
    expect(sagas.errors[0].event?.id).toBe(bad.id);
    expect(String(sagas.errors[0].error)).toContain('bad order b1');
    expect(
      logged.some((line) => line.includes('OrderSagas.invoices') && line.includes(bad.id)),
    ).toBe(true);
  });

  it('after 1,000 failures, every good event gives exactly one output', async () => {
    const { bus, sagas, outputs } = await start();
    for (let i = 0; i < 1000; i++) {
      await bus.emit('order.placed', { id: `b${i}`, bad: true });
      if (i % 100 === 0) await bus.emit('order.placed', { id: `g${i}` });
    }
    await bus.emit('order.placed', { id: 'last' });
    await waitFor(() => outputs.named('late.order').length === 1011);
    expect(sagas.errors).toHaveLength(1000);
    const ids = outputs.named('invoice.requested').map((e) => (e.data as InvoiceRequested).orderId);
    expect(ids).toHaveLength(11);
    expect(new Set(ids).size).toBe(11);
  });

  it('an output emit refuses is reported and the saga goes on', async () => {
    const { bus, sagas, outputs } = await start();
    const refused = await bus.emit('order.shipped', { id: 's1', refuse: true });
    await bus.emit('order.shipped', { id: 's2' });
    await waitFor(() => outputs.named('shipping.label').length === 1);
    await waitFor(() => sagas.errors.length === 1);
    expect(sagas.errors[0].event?.id).toBe(refused.id);
    expect((sagas.errors[0].error as Error).name).toBe('InvalidEventNameError');
  });

  it('retry feeds the failed event again; onError is not called when a try succeeds', async () => {
    const { bus, sagas, outputs } = await start();
    await bus.emit('order.flaky', { id: 'f1' });
    await waitFor(() => outputs.named('invoice.flaky').length === 1);
    expect(outputs.named('invoice.flaky')[0].data).toEqual({ id: 'f1', tries: 3 });
    expect(sagas.attempts.get('f1')).toBe(3);
    expect(sagas.errors).toHaveLength(0);
  });

  it('refuses at boot an onError naming no method, and a @Saga that is not a function', async () => {
    @Injectable()
    class BadHook {
      @Saga({ onError: 'nope' })
      s = (e$: Observable<EventEnvelope>) => e$;
    }
    await expect(createTestApp({ providers: [BadHook] })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    @Injectable()
    class NotAFunction {
      @Saga()
      s = 42;
    }
    await expect(createTestApp({ providers: [NotAFunction] })).rejects.toBeInstanceOf(
      SagaDefinitionError,
    );
    expect(() => Saga({ retry: { tries: 0 } })(BadHook.prototype, 'other')).toThrow(
      InvalidOptionError,
    );
  });
});
