import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { compilePattern, isWildcardPattern, parsePattern } from '../discovery/pattern-trie.js';
import { getEventClassName } from '../event/event-name.js';
import type { FacadeTarget } from './event-facade.state.js';

/** An event name, pattern or class given to the facade, resolved once. */
export interface EventRef {
  /** How messages show it: `"order.created"`, `"order.shipped" (OrderShipped)`, ... */
  readonly label: string;
  /** The name or pattern. */
  readonly name: string;
  readonly matches: (name: string) => boolean;
}

/** Resolves a name, a pattern (`order.*`) or an event class; throws a typed error on bad input. */
export function toEventRef(value: unknown, where: string): EventRef {
  if (typeof value === 'function') {
    const name = getEventClassName(value);
    return { label: `${quote(name)} (${value.name})`, name, matches: (n) => n === name };
  }
  parsePattern(value, where);
  const pattern = value as string;
  return {
    label: isWildcardPattern(pattern) ? `an event matching ${quote(pattern)}` : quote(pattern),
    name: pattern,
    matches: compilePattern(pattern),
  };
}

/** The listeners of a name (wildcard listeners included), or those declaring a pattern. */
export function listenersOf(target: FacadeTarget, ref: EventRef): readonly ListenerDefinition[] {
  if (isWildcardPattern(ref.name)) {
    return target.registry.all().filter((d) => d.patterns.includes(ref.name));
  }
  const { inProcess, queued } = target.registry.resolve(ref.name);
  return [...inProcess, ...queued];
}

/** `OrderListeners.onCreated (order.created, queued on "emails")`. */
export function describeListener(d: ListenerDefinition): string {
  const queued = d.queue ? `, queued on "${d.queue.queue}"` : '';
  return `${d.info.id} (${d.patterns.join(', ')}${queued})`;
}

/** `"order.created"`. */
export function quote(name: string): string {
  return `"${name}"`;
}
