import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ListenerDefinition, ListenerFn } from '../../lib/discovery/listener-definition.js';
import type { EventEnvelope } from '../../lib/event/event-envelope.js';
import { SAMPLE_EVERY, timedListener } from '../../lib/observability/in-process-timing.js';
import { MetricsStore } from '../../lib/observability/metrics-store.js';
import { QueuedAttemptsObserver } from '../../lib/observability/queued-attempts.observer.js';
import { ThroughputWindow } from '../../lib/observability/throughput-window.js';

const context = { signal: new AbortController().signal, attempt: 1, listener: 'L.on' };

function envelope(name = 'order.created'): EventEnvelope {
  return { id: 'e1', name, data: {}, metadata: {}, timestamp: Date.now() };
}

function timed(invoke: ListenerFn, store: MetricsStore): ListenerFn {
  const definition = { id: 'L.on', patterns: ['order.*'], priority: 0, invoke };
  return timedListener(definition as unknown as ListenerDefinition, store).invoke;
}

/** A clock that advances `stepMs` on every read, counting the reads. */
function fakeClock(stepMs: number): { reads: () => number } {
  let now = 0;
  const spy = vi.spyOn(performance, 'now').mockImplementation(() => (now += stepMs));
  return { reads: () => spy.mock.calls.length };
}

describe('in-process listener timing (metrics.inProcess)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts every call of a fast sync listener but reads the clock for one in SAMPLE_EVERY', () => {
    const store = new MetricsStore(500);
    const call = timed(() => 'ok', store);
    const clock = fakeClock(0.001);
    for (let i = 0; i < SAMPLE_EVERY * 4; i++) expect(call(envelope(), context)).toBe('ok');
    expect(clock.reads()).toBe(2 * 4);
    const listener = store.snapshot().listeners['L.on'];
    expect(listener.handled).toBe(SAMPLE_EVERY * 4);
    expect(listener.duration.count).toBe(SAMPLE_EVERY * 4);
    expect(listener.duration.sumMs).toBeCloseTo(0.001 * SAMPLE_EVERY * 4, 6);
    expect(store.snapshot().events['order.created']).toMatchObject({ handled: SAMPLE_EVERY * 4 });
  });

  it('times every call of a slow listener, and counts throws as failures', () => {
    const store = new MetricsStore(500);
    let n = 0;
    const call = timed(() => {
      if (++n % 2 === 0) throw new Error('boom');
    }, store);
    const clock = fakeClock(1);
    for (let i = 0; i < 6; i++) {
      try {
        call(envelope(), context);
      } catch {
        // counted below
      }
    }
    expect(clock.reads()).toBe(12);
    const listener = store.snapshot().listeners['L.on'];
    expect(listener).toMatchObject({ handled: 3, failed: 3 });
    expect(listener.duration).toMatchObject({ count: 6, sumMs: 6 });
  });

  it('times a listener that returns a promise until it settles, and counts again after reset()', async () => {
    const store = new MetricsStore(500);
    const call = timed(async () => undefined, store);
    fakeClock(0.001);
    await call(envelope(), context);
    await call(envelope('order.paid'), context);
    expect(store.snapshot().listeners['L.on'].handled).toBe(2);
    expect(store.snapshot().events['order.paid']).toMatchObject({ handled: 1 });
    store.reset();
    await call(envelope(), context);
    expect(store.snapshot().listeners['L.on'].handled).toBe(1);
    expect(store.snapshot().events['order.created']).toMatchObject({ handled: 1 });
  });
});

describe('ThroughputWindow', () => {
  it('does not let an old time wipe the slot of a recent second', () => {
    const now = 1_700_000_000_000;
    const window = new ThroughputWindow(now - 120_000);
    for (let i = 0; i < 60; i++) window.add(now);
    window.add(now - 60_000);
    expect(window.perSecond(now)).toBe(1);
  });
});

describe('QueuedAttemptsObserver', () => {
  const listener = {
    id: 'L.queued',
    patterns: ['order.*'],
    priority: 0,
    queue: { queue: 'emails', tries: 2 },
  } as unknown as ListenerDefinition;
  const job = (attempt: number) =>
    ({ id: 'j1', queue: 'emails', listener: 'L.queued', attempt, enqueuedAt: Date.now() }) as never;

  it('counts each attempt into its listener, queue and event, and starts over after reset()', async () => {
    const store = new MetricsStore(500);
    const observer = new QueuedAttemptsObserver(store);
    expect(observer.observe(job(1), envelope(), listener, () => undefined)).toBeUndefined();
    const failing = observer.observe(job(1), envelope(), listener, () =>
      Promise.reject(new Error('x')),
    );
    await expect(failing).rejects.toThrow('x');
    expect(() =>
      observer.observe(job(2), envelope(), listener, () => {
        throw new Error('y');
      }),
    ).toThrow('y');
    const snapshot = store.snapshot();
    expect(snapshot.listeners['L.queued']).toMatchObject({
      queue: 'emails',
      handled: 1,
      failed: 2,
      retried: 1,
      deadLettered: 1,
    });
    expect(snapshot.queues.emails.duration.count).toBe(3);
    expect(snapshot.queues.emails.wait?.count).toBe(2);
    expect(snapshot.events['order.created']).toMatchObject({ handled: 1, failed: 2 });
    store.reset();
    observer.observe(job(1), envelope(), listener, () => undefined);
    expect(store.snapshot().queues.emails).toMatchObject({ handled: 1, failed: 0 });
    expect(store.snapshot().events['order.created']).toMatchObject({ handled: 1, failed: 0 });
  });

  it('counts emits per name, past the label cap as other, and starts over after reset()', () => {
    const store = new MetricsStore(2);
    for (const name of ['a.x', 'a.x', 'b.x', 'c.x', 'c.x', 'a.x']) store.emitted(name);
    expect(store.snapshot().events).toMatchObject({
      'a.x': { emitted: 3 },
      'b.x': { emitted: 1 },
      other: { emitted: 2 },
    });
    store.reset();
    store.emitted('a.x');
    store.emitted('a.x');
    expect(store.snapshot().events).toEqual({ 'a.x': expect.objectContaining({ emitted: 2 }) });
  });
});
