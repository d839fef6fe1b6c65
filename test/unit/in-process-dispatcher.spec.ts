import { describe, expect, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import { InProcessDispatcher } from '../../lib/bus/in-process.dispatcher.js';
import { createEnvelope } from '../../lib/bus/event-envelope.factory.js';
import { EventContext } from '../../lib/event/event-context.js';
import { ListenerRegistry } from '../../lib/discovery/listener.registry.js';
import type { ListenerDefinition, ListenerFn } from '../../lib/discovery/listener-definition.js';
import { ListenersFailedError } from '../../lib/errors/listeners-failed.error.js';

function registryOf(
  ...listeners: {
    id: string;
    invoke: ListenerFn;
    isAsync?: boolean;
    filter?: ListenerDefinition['filter'];
  }[]
): ListenerRegistry {
  const registry = new ListenerRegistry();
  for (const l of listeners) {
    registry.add({
      patterns: ['a.b'],
      priority: 0,
      info: { id: l.id, isQueued: false },
      eventClasses: [],
      ...l,
    });
  }
  return registry;
}

describe('InProcessDispatcher.collect', () => {
  vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  const dispatcher = new InProcessDispatcher();
  const event = createEnvelope('a.b', {}, undefined);

  it('returns the results of sync listeners directly, in call order', () => {
    const one = registryOf({ id: 'x', invoke: () => 1, isAsync: false });
    expect(dispatcher.collect(event, one.resolve('a.b'))).toEqual([1]);
    const two = registryOf(
      { id: 'x', invoke: () => 1, isAsync: false },
      { id: 'y', invoke: () => 2, isAsync: false },
    );
    expect(dispatcher.collect(event, two.resolve('a.b'))).toEqual([1, 2]);
  });

  it('awaits one async listener and carries the context across its await', async () => {
    let seen: unknown;
    const registry = registryOf({
      id: 'x',
      invoke: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        seen = EventContext.current()?.event;
        return 'v';
      },
    });
    const out = dispatcher.collect(event, registry.resolve('a.b'));
    expect(out).toBeInstanceOf(Promise);
    await expect(out).resolves.toEqual(['v']);
    expect(seen).toBe(event);
  });

  it('lists failures in call order whatever order they settled in, with every result slot', async () => {
    const registry = registryOf(
      {
        id: 'slow',
        invoke: () => new Promise((_, reject) => setTimeout(() => reject(new Error('s')), 5)),
      },
      { id: 'ok', invoke: async () => 'ok' },
      { id: 'fast', invoke: async () => Promise.reject(new Error('f')) },
      {
        id: 'sync',
        invoke: () => {
          throw new Error('t');
        },
        isAsync: false,
      },
    );
    const error = (await Promise.resolve(dispatcher.collect(event, registry.resolve('a.b'))).catch(
      (e: unknown) => e,
    )) as ListenersFailedError;
    expect(error).toBeInstanceOf(ListenersFailedError);
    expect(error.failures.map((f) => f.listener)).toEqual(['slow', 'fast', 'sync']);
    expect(error.results).toEqual([undefined, 'ok', undefined, undefined]);
  });

  it('rejects one failed async listener with its failure', async () => {
    const registry = registryOf({ id: 'x', invoke: async () => Promise.reject(new Error('no')) });
    await expect(
      Promise.resolve(dispatcher.collect(event, registry.resolve('a.b'))),
    ).rejects.toMatchObject({ failures: [{ listener: 'x' }], results: [undefined] });
  });

  it('skips a listener whose filter refuses the event, and reports a filter that throws', () => {
    const skipped = registryOf({ id: 'x', invoke: () => 1, isAsync: false, filter: () => false });
    expect(dispatcher.collect(event, skipped.resolve('a.b'))).toEqual([]);
    const throwing = registryOf({
      id: 'x',
      invoke: () => 1,
      isAsync: false,
      filter: () => {
        throw new Error('bad filter');
      },
    });
    expect(() => dispatcher.collect(event, throwing.resolve('a.b'))).toThrow(ListenersFailedError);
  });
});
