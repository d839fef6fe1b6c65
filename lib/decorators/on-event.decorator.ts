import { ON_EVENT_METADATA } from '../events.constants.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { getEventClassName } from '../event/event-name.js';
import type {
  CollapsedEnvelope,
  ListenerDecorator,
  ListenerEnvelope,
  ListenerSelector,
  UntypedOnly,
} from '../event/event-map.js';
import { parsePattern } from '../discovery/pattern-trie.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { InvalidPatternError } from '../errors/invalid-pattern.error.js';

/** What `@OnEvent` listens to: a pattern, an event class, or a list of them. */
export type EventSelector = string | (abstract new (...args: never[]) => object);

/** Options of `@OnEvent`. */
export interface OnEventOptions<T = unknown, E = EventEnvelope<T>> {
  /**
   * Higher runs first; equal priorities run in registration order.
   * @default 0
   */
  priority?: number;
  /**
   * Called before the listener: when it returns false the listener is skipped for that event.
   * @default undefined (every matching event)
   */
  filter?: (event: E) => boolean;
  /**
   * An explicit, stable listener id (queued jobs find their listener by it).
   * @default 'ClassName.methodName'
   */
  id?: string;
  /**
   * Former ids of this listener (`'OldClass.oldMethod'`): queued jobs stored under one of them
   * (before a rename, or by a producer not yet deployed) still run this listener.
   * @default []
   */
  aliases?: readonly string[];
  /**
   * With the transactional outbox: `false` runs this in-process listener at once inside the
   * transaction of the emit, with its client as `context.transaction` (so it can write in it);
   * its throw rolls the transaction back. Outside a transaction it runs as any listener.
   * @default true (in a transaction, the listener runs only after commit)
   */
  afterCommit?: boolean;
}

/** @internal What one `@OnEvent` records on a method. */
export interface OnEventMetadata {
  readonly patterns: readonly string[];
  readonly eventClasses: readonly Function[];
  readonly priority: number;
  readonly filter?: (event: EventEnvelope) => boolean;
  readonly id?: string;
  readonly aliases?: readonly string[];
  readonly afterCommit?: boolean;
}

/** Validates a selector list and turns it into patterns (and the event classes among them). */
export function resolveSelectors(
  selectors: EventSelector | readonly EventSelector[],
  where: string,
): { patterns: string[]; eventClasses: Function[] } {
  const list = Array.isArray(selectors) ? selectors : [selectors];
  if (list.length === 0) throw new InvalidPatternError(selectors, 'the list is empty', where);
  const patterns: string[] = [];
  const eventClasses: Function[] = [];
  for (const selector of list as EventSelector[]) {
    let pattern: string;
    if (typeof selector === 'function') {
      pattern = getEventClassName(selector);
      eventClasses.push(selector);
    } else {
      parsePattern(selector, where);
      pattern = selector;
    }
    if (patterns.includes(pattern)) {
      throw new InvalidPatternError(pattern, 'it is listed twice', where);
    }
    patterns.push(pattern);
  }
  return { patterns, eventClasses };
}

const OPTION_KEYS = ['priority', 'filter', 'id', 'aliases', 'afterCommit'];

function assertOnEventOptions(options: unknown, where: string): asserts options is OnEventOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(`@OnEvent options on ${where}`, options, 'an options object');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new InvalidOptionError(
        `@OnEvent ${key} on ${where}`,
        (options as Record<string, unknown>)[key],
        `no such option (allowed: ${OPTION_KEYS.join(', ')})`,
      );
    }
  }
}

/**
 * Marks a provider method as a listener of the events matching `selectors`. Stackable.
 * The method is called as `(event: EventEnvelope, context)`.
 *
 * @example
 * @OnEvent('order.created')
 * onCreated(event: EventEnvelope<{ id: string }>) {}
 *
 * @OnEvent(['order.*', 'invoice.**'], { priority: 10 })
 * audit(event: EventEnvelope) {}
 */
export function OnEvent<T = unknown>(
  selectors: UntypedOnly<EventSelector | readonly EventSelector[]>,
  options?: OnEventOptions<T>,
): MethodDecorator;
// An unmapped name (allowUnmappedNames) leaves the method's parameter free, as untyped. The
// filter of a wildcard sees one envelope of the unions: a union-typed arrow parameter costs the
// compiler one check per event per listener (200 listeners x 500 events took 3x as long).
export function OnEvent<const S extends ListenerSelector | readonly ListenerSelector[]>(
  selectors: S,
  options?: OnEventOptions<unknown, CollapsedEnvelope<ListenerEnvelope<S>>>,
): ListenerDecorator<ListenerEnvelope<S, EventEnvelope<never>>>;
export function OnEvent<T = unknown>(
  selectors: EventSelector | readonly EventSelector[],
  options: OnEventOptions<T> = {},
): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    const where = `${(target as object).constructor.name}.${String(propertyKey)}`;
    const { patterns, eventClasses } = resolveSelectors(selectors, where);
    const existing = (Reflect.getMetadata(ON_EVENT_METADATA, descriptor.value as object) ??
      []) as OnEventMetadata[];
    // Each @OnEvent is its own listener: the same pattern on two of them would call the method
    // twice per event.
    for (const pattern of patterns) {
      if (existing.some((record) => record.patterns.includes(pattern))) {
        throw new InvalidPatternError(
          pattern,
          'it is listed twice (another @OnEvent on the same method has it)',
          where,
        );
      }
    }
    assertOnEventOptions(options, where);
    const priority = options.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new InvalidOptionError(`@OnEvent priority on ${where}`, priority, 'a finite number');
    }
    if (options.filter !== undefined && typeof options.filter !== 'function') {
      throw new InvalidOptionError(`@OnEvent filter on ${where}`, options.filter, 'a function');
    }
    if (options.id !== undefined && (typeof options.id !== 'string' || options.id.length === 0)) {
      throw new InvalidOptionError(`@OnEvent id on ${where}`, options.id, 'a non-empty string');
    }
    const aliases = options.aliases ?? [];
    if (
      !Array.isArray(aliases) ||
      aliases.some((alias) => typeof alias !== 'string' || alias.length === 0)
    ) {
      throw new InvalidOptionError(
        `@OnEvent aliases on ${where}`,
        aliases,
        'an array of non-empty listener ids',
      );
    }
    if (options.afterCommit !== undefined && typeof options.afterCommit !== 'boolean') {
      throw new InvalidOptionError(
        `@OnEvent afterCommit on ${where}`,
        options.afterCommit,
        'a boolean',
      );
    }
    const record: OnEventMetadata = {
      patterns,
      eventClasses,
      priority,
      filter: options.filter as OnEventMetadata['filter'],
      id: options.id,
      aliases: options.aliases === undefined ? undefined : [...aliases],
      afterCommit: options.afterCommit,
    };
    Reflect.defineMetadata(ON_EVENT_METADATA, [...existing, record], descriptor.value as object);
    return descriptor;
  };
}
