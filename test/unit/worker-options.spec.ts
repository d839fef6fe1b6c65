import { describe, expect, it } from 'vitest';
import {
  DuplicateListenerError,
  InvalidOptionError,
  OnEvent,
  resolveEventsOptions,
} from 'nestjs-events';
import { ListenerRegistry } from '../../lib/discovery/listener.registry.js';
import type { ListenerDefinition } from '../../lib/discovery/listener-definition.js';

function definition(id: string, aliases: string[] = []): ListenerDefinition {
  return {
    id,
    aliases,
    patterns: ['a.b'],
    priority: 0,
    info: { id, isQueued: true },
    invoke: () => undefined,
    eventClasses: [],
  };
}

describe('worker options', () => {
  it('documents its defaults: 5 minutes of grace for unknown listeners, a warning after 60 s', () => {
    expect(resolveEventsOptions({}, {}).worker).toMatchObject({
      unknownListenerGraceMs: 300_000,
      longRunningWarningMs: 60_000,
    });
    expect(
      resolveEventsOptions({ worker: { unknownListenerGraceMs: 0, longRunningWarningMs: 5 } }, {})
        .worker,
    ).toMatchObject({ unknownListenerGraceMs: 0, longRunningWarningMs: 5 });
  });

  it.each(['unknownListenerGraceMs', 'longRunningWarningMs'])('refuses a negative %s', (key) => {
    expect(() => resolveEventsOptions({ worker: { [key]: -1 } }, {})).toThrow(InvalidOptionError);
    expect(() => resolveEventsOptions({ worker: { [key]: '5' } as never }, {})).toThrow(
      `worker.${key}`,
    );
  });
});

describe('listener aliases', () => {
  it('finds a listener by a former id', () => {
    const registry = new ListenerRegistry();
    registry.add(definition('New.handle', ['Old.handle']));
    expect(registry.get('Old.handle')?.id).toBe('New.handle');
    registry.remove('New.handle');
    expect(registry.get('Old.handle')).toBeUndefined();
  });

  it('refuses an alias that is another listener id or alias', () => {
    const registry = new ListenerRegistry();
    registry.add(definition('A.handle', ['Old.handle']));
    expect(() => registry.add(definition('B.handle', ['A.handle']))).toThrow(
      DuplicateListenerError,
    );
    expect(() => registry.add(definition('C.handle', ['Old.handle']))).toThrow(
      DuplicateListenerError,
    );
    expect(() => registry.add(definition('Old.handle'))).toThrow(DuplicateListenerError);
  });

  it('refuses aliases that are not non-empty strings when the class is defined', () => {
    expect(() => OnEvent('a.b', { aliases: [''] })({}, 'm', { value: () => undefined })).toThrow(
      InvalidOptionError,
    );
    expect(() =>
      OnEvent('a.b', { aliases: 'Old.handle' as never })({}, 'm', { value: () => undefined }),
    ).toThrow('aliases');
  });
});
