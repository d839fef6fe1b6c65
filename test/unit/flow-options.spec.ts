import { Injectable, Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import {
  EventBus,
  InvalidOptionError,
  InvalidPatternError,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';

// A loose signature, so that the tests can hand the decorator what a JavaScript caller might.
const shouldQueue = ShouldQueue as (options?: unknown) => MethodDecorator;

/** Decorates a method with `options` and returns what that threw. */
function decorationError(options: unknown): unknown {
  try {
    class Listener {
      handle(): void {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Listener.prototype, 'handle')!;
    shouldQueue(options)(Listener.prototype, 'handle', descriptor);
  } catch (error) {
    return error;
  }
  return undefined;
}

const key = (e: EventEnvelope<{ id: string }>): string => e.data.id;
const match = (): boolean => true;

describe('@ShouldQueue flow options are checked at decoration', () => {
  it.each([
    ['singleton not an object', { singleton: 'x' }, /singleton on Listener.handle/],
    [
      'singleton bad key',
      { singleton: { key: 42, mode: 'skip' } },
      /singleton on Listener.handle.key/,
    ],
    [
      'singleton empty key',
      { singleton: { key: '', mode: 'skip' } },
      /singleton on Listener.handle.key/,
    ],
    [
      'singleton unknown mode',
      { singleton: { key, mode: 'queue' } },
      /mode.*'skip' or 'cancel'.*"queue"/,
    ],
    [
      'singleton unknown option',
      { singleton: { key, mode: 'skip', ttl: 1 } },
      /singleton on Listener.handle.ttl/,
    ],
    [
      'cancelOn without match',
      { cancelOn: { event: 'order.cancelled' } },
      /cancelOn on Listener.handle.match/,
    ],
    [
      'debounce negative delay',
      { debounce: { key, delayMs: -1 } },
      /debounce on Listener.handle.delayMs.*>= 1.*-1/,
    ],
    ['debounce zero delay', { debounce: { key, delayMs: 0 } }, /delayMs/],
    [
      'debounce maxDelayMs below delayMs',
      { debounce: { key, delayMs: 500, maxDelayMs: 100 } },
      /maxDelayMs.*>= 500/,
    ],
    [
      'debounce bad key',
      { debounce: { key: null, delayMs: 10 } },
      /debounce on Listener.handle.key/,
    ],
    [
      'debounce collect not a boolean',
      { debounce: { key, delayMs: 10, collect: 'yes' } },
      /debounce on Listener.handle.collect.*true or false/,
    ],
    [
      'debounce with singleton',
      { debounce: { key, delayMs: 10 }, singleton: { key, mode: 'skip' } },
      /no singleton on the same listener/,
    ],
    [
      'debounce with delay',
      { debounce: { key, delayMs: 10 }, delay: 100 },
      /no delay on the same listener/,
    ],
  ])('%s: InvalidOptionError naming the option', (_case, options, message) => {
    const error = decorationError(options);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toMatch(message);
  });

  it('cancelOn with a bad event pattern: InvalidPatternError', () => {
    expect(decorationError({ cancelOn: { event: 'a..b', match } })).toBeInstanceOf(
      InvalidPatternError,
    );
  });

  it('accepts the options that combine', () => {
    expect(
      decorationError({
        singleton: { key, mode: 'cancel' },
        cancelOn: { event: 'order.*', match },
      }),
    ).toBeUndefined();
    expect(
      decorationError({
        debounce: { key: 'all', delayMs: 10, maxDelayMs: 10 },
        cancelOn: { event: 'x', match },
      }),
    ).toBeUndefined();
  });
});

@Injectable()
class FlowListeners {
  @OnEvent('order.placed')
  @ShouldQueue({
    singleton: { key: (e: EventEnvelope<{ id?: unknown }>) => e.data.id as string, mode: 'skip' },
    cancelOn: { event: 'order.cancelled', match },
  })
  ship(): void {}

  @OnEvent('doc.edited')
  @ShouldQueue({ debounce: { key: 'all', delayMs: 100, maxDelayMs: 1000 } })
  index(): void {}

  @OnEvent('report.requested')
  @ShouldQueue({
    queue: 'reports',
    group: 'tenantId',
    groupConcurrency: 2,
    groupRateLimit: { max: 10, durationMs: 1000 },
  })
  report(): void {}

  @OnEvent('report.weighed')
  @ShouldQueue({ queue: 'weighed', group: 'tenantId', groupWeight: () => 2 })
  weighed(): void {}
}

describe('flow options at emit and in the listener listing', () => {
  let app: INestApplicationContext | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.close();
    app = undefined;
  });

  it('a key function that returns no string refuses the emit with a typed error naming the listener', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    app = await createTestApp({ providers: [FlowListeners] }, { worker: false });
    const bus = app.get(EventBus);
    const refused = bus.emit('order.placed', { id: 7 });
    await expect(refused).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(bus.emit('order.placed', { id: 7 })).rejects.toThrow(
      /singleton.key of FlowListeners.ship/,
    );
    await bus.emit('order.placed', { id: 'o1' });
  });

  it('bus.listeners() shows the flow options', async () => {
    app = await createTestApp({ providers: [FlowListeners] }, { worker: false });
    const listed = app.get(EventBus).listeners();
    expect(listed.find((l) => l.id === 'FlowListeners.ship')?.flow).toEqual({
      singleton: { mode: 'skip' },
      cancelOn: { event: 'order.cancelled' },
    });
    expect(listed.find((l) => l.id === 'FlowListeners.index')?.flow).toEqual({
      debounce: { delayMs: 100, maxDelayMs: 1000 },
    });
    expect(listed.find((l) => l.id === 'FlowListeners.report')?.flow).toEqual({
      group: { weight: 1, concurrency: 2, rateLimit: { max: 10, durationMs: 1000 } },
    });
    expect(listed.find((l) => l.id === 'FlowListeners.weighed')?.flow).toEqual({
      group: { weight: 'function' },
    });
  });
});
