import type { EventEnvelope } from '../event/event-envelope.js';
import { parsePattern } from '../discovery/pattern-trie.js';
import type { ListenerFn } from '../discovery/listener-definition.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';

/** A listener added at run time with `bus.on`. */
export type DynamicListener<T = unknown> = (event: EventEnvelope<T>) => unknown;

/** The listeners added with `bus.on`, registered in the registry and found again by `bus.off`. */
export class DynamicListeners {
  private readonly byFunction = new Map<Function, Map<string, string>>();
  private seq = 0;

  constructor(private readonly registry: ListenerRegistry) {}

  /** Registers `listener` under `pattern`; returns the function that removes it. */
  add(pattern: string, listener: DynamicListener, priority: number | undefined): () => void {
    parsePattern(pattern);
    if (typeof listener !== 'function')
      throw new InvalidOptionError('listener', listener, 'a function');
    const id = `on(${pattern})#${++this.seq}`;
    this.registry.add({
      id,
      patterns: [pattern],
      priority: priority ?? 0,
      info: { id, isQueued: false },
      invoke: listener as ListenerFn,
      isAsync: listener.constructor.name === 'AsyncFunction',
      eventClasses: [],
    });
    let byPattern = this.byFunction.get(listener);
    if (!byPattern) this.byFunction.set(listener, (byPattern = new Map()));
    byPattern.set(id, pattern);
    return () => {
      this.registry.remove(id);
      byPattern.delete(id);
    };
  }

  /** Removes the registrations of `listener` under `pattern`. */
  remove(pattern: string, listener: DynamicListener): void {
    const byPattern = this.byFunction.get(listener);
    if (!byPattern) return;
    for (const [id, p] of byPattern) {
      if (p === pattern) {
        this.registry.remove(id);
        byPattern.delete(id);
      }
    }
  }
}
