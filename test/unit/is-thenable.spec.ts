import { Logger } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import { isThenable } from '../../lib/is-thenable.js';
import { InProcessDispatcher } from '../../lib/bus/in-process.dispatcher.js';
import { createEnvelope } from '../../lib/bus/event-envelope.factory.js';
import { ListenerRegistry } from '../../lib/discovery/listener.registry.js';

/** A function that is also a thenable: `await` waits for it (Promises/A+ 1.1). */
function functionThenable<T>(value: T): (() => void) & PromiseLike<T> {
  const thenable = Object.assign(() => undefined, {
    then: (resolve: (v: T) => void) => void setImmediate(() => resolve(value)),
  });
  return thenable as unknown as (() => void) & PromiseLike<T>;
}

describe('isThenable', () => {
  it('is true for what `await` waits for: promises, thenable objects and thenable functions', () => {
    expect(isThenable(Promise.resolve(1))).toBe(true);
    expect(isThenable({ then: () => undefined })).toBe(true);
    expect(isThenable(functionThenable(1))).toBe(true);
  });

  it('is false for values `await` hands back as they are', () => {
    for (const value of [null, undefined, 0, 'then', true, {}, { then: 1 }, () => 1, []]) {
      expect(isThenable(value)).toBe(false);
    }
  });

  it('lets emitAsync wait for a listener that returns a thenable function, as `await` would', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const registry = new ListenerRegistry();
    registry.add({
      id: 'x',
      patterns: ['a.b'],
      priority: 0,
      info: { id: 'x', isQueued: false },
      eventClasses: [],
      invoke: () => functionThenable('v'),
    });
    const out = new InProcessDispatcher().collect(
      createEnvelope('a.b', {}, undefined),
      registry.resolve('a.b'),
    );
    await expect(out).resolves.toEqual(['v']);
  });
});
