import { Logger, type INestApplicationContext } from '@nestjs/common';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  InvalidEventNameError,
  InvalidPatternError,
  ListenersFailedError,
  type EventEnvelope,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import {
  ChainListeners,
  FailingListeners,
  OrderListeners,
  OrderShipped,
  QueryListeners,
  Recorder,
} from '../fixtures/bus-listeners.js';

describe('EventBus (in-process)', () => {
  let app: INestApplicationContext;

  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.close();
  });

  async function start() {
    app = await createTestApp({
      providers: [Recorder, OrderListeners, FailingListeners, QueryListeners, ChainListeners],
    });
    return { bus: app.get(EventBus), recorder: app.get(Recorder) };
  }

  it('calls matching listeners by priority, then registration order, each once', async () => {
    const { bus, recorder } = await start();
    const envelope = await bus.emit('order.created', { id: 'o1' });
    await waitFor(() => recorder.names('late').length === 1);
    // audit matches by two patterns (order.* and order.created) but runs once.
    expect(recorder.names()).toEqual([
      'audit:order.created',
      'onCreated:order.created',
      'late:order.created',
    ]);
    const seen = recorder.seen[0].event;
    expect(seen).toBe(recorder.seen[1].event);
    expect(seen).toMatchObject({ id: envelope.id, name: 'order.created', data: { id: 'o1' } });
    expect(typeof seen.timestamp).toBe('number');
    expect(seen.metadata.correlationId).toBe(envelope.id);
  });

  it('skips listeners whose filter refuses the event', async () => {
    const { bus, recorder } = await start();
    await bus.emit('order.created', { id: 'vip-1' });
    await bus.emit('order.created', { id: 'plain' });
    expect(
      recorder.seen
        .filter((s) => s.listener === 'vip')
        .map((s) => (s.event.data as { id: string }).id),
    ).toEqual(['vip-1']);
  });

  it('matches ** over several segments and * over exactly one', async () => {
    const { bus, recorder } = await start();
    await bus.emit('order.line.added', {});
    await waitFor(() => recorder.names('late').length === 1);
    expect(recorder.names()).toEqual(['late:order.line.added']);
  });

  it('delivers class events by their explicit name, with the instance as data', async () => {
    const { bus, recorder } = await start();
    const shipped = new OrderShipped('o9');
    const envelope = await bus.emit(shipped, { metadata: { tenantId: 't1' } });
    expect(envelope.name).toBe('order.shipped');
    const event = recorder.seen.find((s) => s.listener === 'shipped')!.event;
    expect(event.data).toBe(shipped);
    expect(event.metadata).toMatchObject({ tenantId: 't1' });
    // order.* (audit) matched it too.
    expect(recorder.names('audit')).toEqual(['audit:order.shipped']);
  });

  it('emitAsync returns the results of in-process listeners in call order', async () => {
    const { bus } = await start();
    const results = await bus.emitAsync('order.created', { id: 'o2' });
    expect(results).toEqual(['audited', 'created o2', undefined]);
  });

  it('isolates a failing listener: the others run, the failure is logged with both names', async () => {
    const errors = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { bus, recorder } = await start();
    await expect(bus.emit('risky.op', {})).resolves.toMatchObject({ name: 'risky.op' });
    await waitFor(() => errors.mock.calls.length === 2);
    expect(recorder.names()).toEqual([
      'throwsSync:risky.op',
      'rejects:risky.op',
      'survives:risky.op',
    ]);
    const messages = errors.mock.calls.map((c) => String(c[0]));
    expect(messages[0]).toContain('FailingListeners.throwsSync');
    expect(messages[0]).toContain('"risky.op"');
    expect(messages.join()).toContain('FailingListeners.rejects');
  });

  it('emitAsync rejects with every failing listener listed, after all of them ran', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { bus, recorder } = await start();
    const error = await bus.emitAsync('risky.op', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ListenersFailedError);
    const failed = error as ListenersFailedError;
    expect(failed.code).toBe('EVENTS_LISTENERS_FAILED');
    expect(failed.failures.map((f) => f.listener)).toEqual([
      'FailingListeners.throwsSync',
      'FailingListeners.rejects',
    ]);
    expect(failed.message).toContain('sync boom');
    expect(failed.message).toContain('async boom');
    expect(failed.results[2]).toBe('still here');
    expect(recorder.names('survives')).toHaveLength(1);
  });

  it('until returns the first defined result in priority order and stops there', async () => {
    const { bus } = await start();
    const query = app.get(QueryListeners);
    await expect(bus.until('price.quote', { sku: 'A1' })).resolves.toBe('A1: 42');
    expect(query.asked).toEqual(['nothing', 'quote']);
    await expect(bus.until('nobody.listens', {})).resolves.toBeUndefined();
  });

  it('streams matching events as an Observable', async () => {
    const { bus } = await start();
    const received = firstValueFrom(bus.stream('order.*').pipe(take(2), toArray()));
    const all = firstValueFrom(bus.stream().pipe(take(3), toArray()));
    await bus.emit('order.created', { id: 's1' });
    await bus.emit('invoice.sent', {});
    await bus.emit('order.paid', {});
    expect((await received).map((e) => e.name)).toEqual(['order.created', 'order.paid']);
    expect((await all).map((e) => e.name)).toEqual(['order.created', 'invoice.sent', 'order.paid']);
    expect(() => bus.stream('bad..pattern')).toThrow(InvalidPatternError);
  });

  it('adds and removes run-time listeners with on/off', async () => {
    const { bus } = await start();
    const seen: string[] = [];
    const listener = (event: EventEnvelope) => void seen.push(event.name);
    const unsubscribe = bus.on('user.*', listener);
    bus.on('user.deleted', listener);
    expect(bus.hasListeners('user.created')).toBe(true);
    await bus.emit('user.created', {});
    unsubscribe();
    await bus.emit('user.created', {});
    await bus.emit('user.deleted', {});
    bus.off('user.deleted', listener);
    await bus.emit('user.deleted', {});
    expect(seen).toEqual(['user.created', 'user.deleted']);
    expect(bus.hasListeners('user.created')).toBe(false);
  });

  it('introspects listeners', async () => {
    const { bus } = await start();
    expect(bus.hasListeners('order.created')).toBe(true);
    expect(bus.hasListeners('nothing.here')).toBe(false);
    expect(bus.listeners('order.created').map((l) => l.id)).toEqual([
      'OrderListeners.audit',
      'OrderListeners.onCreated',
      'OrderListeners.vip',
      'OrderListeners.late',
    ]);
    expect(bus.listeners().find((l) => l.id === 'OrderListeners.audit')).toMatchObject({
      patterns: ['order.*', 'order.created'],
      priority: 10,
      isQueued: false,
    });
  });

  it('carries correlation and causation through async listeners that emit', async () => {
    const { bus, recorder } = await start();
    const first = await bus.emit(
      'chain.first',
      {},
      { metadata: { correlationId: 'req-1', tenantId: 't7' } },
    );
    await waitFor(() => recorder.names('second').length === 1);
    const second = recorder.seen.find((s) => s.listener === 'second')!.event;
    expect(second.metadata).toEqual({
      correlationId: 'req-1',
      causationId: first.id,
      tenantId: 't7',
    });
    expect(second.id > first.id).toBe(true);
  });

  it('carries causation from a sync listener, and none once the dispatch is over', async () => {
    const { bus, recorder } = await start();
    const first = await bus.emit('chain.sync', {}, { metadata: { tenantId: 't8' } });
    const second = recorder.seen.find((s) => s.listener === 'second')!.event;
    expect(second.metadata).toEqual({
      correlationId: first.id,
      causationId: first.id,
      tenantId: 't8',
    });
    const after = await bus.emit('chain.second', {});
    expect(after.metadata).toEqual({ correlationId: after.id });
  });

  it('refuses bad names with typed errors', async () => {
    const { bus } = await start();
    for (const bad of ['', 'order..created', '.order', 'order.*', 'order.**', 'has space']) {
      const error = await bus.emit(bad, {}).catch((e: unknown) => e);
      expect(error, bad).toBeInstanceOf(InvalidEventNameError);
      expect((error as InvalidEventNameError).code).toBe('EVENTS_INVALID_EVENT_NAME');
    }
    await expect(bus.emit(42 as unknown as string)).rejects.toThrow(/not a string/);
    await expect(bus.emit({ plain: true })).rejects.toThrow(InvalidEventNameError);
    class Nameless {}
    await expect(bus.emit(new Nameless())).rejects.toThrow(/no event name/);
    await expect(
      bus.emit('ok.name', {}, { metadata: { n: 1 as unknown as string } }),
    ).rejects.toThrow(/metadata.n/);
    await expect(bus.emit('ok.name', {}, { delay: -1 })).rejects.toThrow(/delay/);
    expect(() => bus.on('a..b', () => undefined)).toThrow(InvalidPatternError);
  });
});
