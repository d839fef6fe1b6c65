import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, OnEvent, Saga, ofEvent, type EventEnvelope } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { promisesMadeBy } from '../support/promise-count.js';

@Injectable()
class Invoices {
  readonly seen: EventEnvelope[] = [];
  @OnEvent('invoice.requested')
  record(event: EventEnvelope): void {
    this.seen.push(event);
  }
}

@Injectable()
class InvoiceSaga {
  @Saga()
  invoices = (events$: Observable<EventEnvelope>) =>
    events$.pipe(
      ofEvent<{ id: string }>('order.placed'),
      map((e) => ({ name: 'invoice.requested', data: { id: e.data.id } })),
    );
}

/*
 * A reactive saga's output delivered at once (in-process listeners only) costs no promise: with
 * async context on, a reaction to a promise per output cost more than the emit itself (bench
 * `sagas.bench.js`, reactive). A failing output is still reported (sagas-reactive.e2e-spec.ts).
 */
describe('Reactive saga outputs on the hot path', () => {
  let app: INestApplicationContext | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('create no promise: an emit with an output costs what one without does', async () => {
    app = await createTestApp({ providers: [Invoices, InvoiceSaga] });
    const bus = app.get(EventBus);
    const invoices = app.get(Invoices);
    // Warm both paths first (lazy first-use setup makes promises of its own).
    void bus.emit('order.placed', { id: 'w' });
    void bus.emit('order.ignored', { id: 'w' });

    const withOutput = promisesMadeBy(() => bus.emit('order.placed', { id: 'o1' }));
    const without = promisesMadeBy(() => bus.emit('order.ignored', { id: 'o2' }));

    expect(invoices.seen.map((e) => e.data)).toEqual([{ id: 'w' }, { id: 'o1' }]);
    expect(withOutput).toBe(without);
  });

  it('emitReported: undefined once delivered, a rejected promise when refused', async () => {
    app = await createTestApp({ providers: [Invoices] });
    const bus = app.get(EventBus);
    expect(bus.emitReported('invoice.requested', { id: 'i1' })).toBeUndefined();
    expect(app.get(Invoices).seen).toHaveLength(1);
    await expect(bus.emitReported('Bad Name!', {})).rejects.toThrow(/Bad Name!/);
  });
});
