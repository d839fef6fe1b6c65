import { Injectable } from '@nestjs/common';
import { DuplicateListenerError } from '../errors/duplicate-listener.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertEventName, getEventClassName } from '../event/event-name.js';
import {
  inProcessContext,
  type ListenerContext,
  type ListenerDefinition,
} from './listener-definition.js';
import { PatternTrie } from './pattern-trie.js';
import { isSystemEvent, isSystemPattern } from '../event/system-events.js';
import { refuseBatchOnGroupedQueue } from '../queue/flow/batch-options.js';

/** The listeners of one event name, split by how they run, each list in call order. */
export interface ResolvedListeners {
  readonly inProcess: readonly ListenerDefinition[];
  /** The call context of each in-process listener, at the same index (built once, not per emit). */
  readonly contexts: readonly ListenerContext[];
  /** Whether any in-process listener may go on after it returns (needs the async context). */
  readonly hasAsync: boolean;
  readonly queued: readonly ListenerDefinition[];
}

interface Entry {
  readonly definition: ListenerDefinition;
  readonly seq: number;
  readonly context: ListenerContext;
}

const EMPTY: ResolvedListeners = Object.freeze({
  inProcess: [],
  contexts: [],
  hasAsync: false,
  queued: [],
});
// Names resolved once are served from a Map until the listener set changes; the bound keeps a
// stream of distinct names from growing the cache without limit.
const MAX_CACHED_NAMES = 10_000;

/** Whether a queued listener gives a priority or a priority aging. */
function isPrioritized(definition: ListenerDefinition): boolean {
  return (
    definition.queue?.priority !== undefined || definition.queue?.priorityAgingMs !== undefined
  );
}

/** Every listener of the application, matched to event names through a pattern trie. */
@Injectable()
export class ListenerRegistry {
  private readonly trie = new PatternTrie<Entry>();
  private readonly byId = new Map<string, Entry>();
  /** Former ids of listeners (`@OnEvent(..., { aliases })`), for queued jobs stored under them. */
  private readonly byAlias = new Map<string, Entry>();
  private readonly cache = new Map<string, ResolvedListeners>();
  /** The name emitted last and its listeners: a burst of one name skips the Map lookup. */
  private lastName: string | undefined;
  private lastResolved: ResolvedListeners = EMPTY;
  private readonly classes = new Map<string, Function>();
  private seq = 0;
  /** Queues with a grouped listener, by how many such listeners they have. */
  private readonly groupedQueues = new Map<string, number>();
  /** @internal Wraps each listener as it is added (`EventMetrics` times in-process calls). */
  wrap: ((definition: ListenerDefinition) => ListenerDefinition) | undefined;

  /** Registers a listener under all its patterns. @throws DuplicateListenerError on an id clash. */
  add(definition: ListenerDefinition): void {
    if (this.wrap !== undefined) definition = this.wrap(definition);
    const aliases = definition.aliases ?? [];
    for (const id of [definition.id, ...aliases]) {
      if (this.byId.has(id) || this.byAlias.has(id)) throw new DuplicateListenerError(id);
    }
    if (aliases.includes(definition.id) || new Set(aliases).size !== aliases.length) {
      throw new DuplicateListenerError(definition.id);
    }
    this.refuseMixedQueue(definition);
    const entry: Entry = { definition, seq: this.seq++, context: inProcessContext(definition.id) };
    for (const pattern of definition.patterns) this.trie.add(pattern, entry);
    this.byId.set(definition.id, entry);
    for (const alias of aliases) this.byAlias.set(alias, entry);
    for (const eventClass of definition.eventClasses) {
      this.classes.set(getEventClassName(eventClass), eventClass);
    }
    const grouped = definition.queue?.group && definition.queue.queue;
    if (grouped) this.groupedQueues.set(grouped, (this.groupedQueues.get(grouped) ?? 0) + 1);
    this.forget();
  }

  /**
   * A queue is either grouped or prioritized: refuses a listener with a priority (or aging) on a
   * queue where another has a group, and the reverse.
   *
   * @throws InvalidOptionError naming both listeners and the queue.
   */
  private refuseMixedQueue(definition: ListenerDefinition): void {
    const queue = definition.queue;
    if (queue === undefined) return;
    refuseBatchOnGroupedQueue(definition, this.byId.values());
    const isGrouped = queue.group !== undefined;
    if (!isGrouped && !isPrioritized(definition)) return;
    for (const { definition: other } of this.byId.values()) {
      if (other.queue?.queue !== queue.queue) continue;
      const clash = isGrouped ? isPrioritized(other) : other.queue.group !== undefined;
      if (!clash) continue;
      const [prioritized, grouped] = isGrouped ? [other, definition] : [definition, other];
      throw new InvalidOptionError(
        `@ShouldQueue priority on ${prioritized.id}`,
        prioritized.queue!.priority ?? prioritized.queue!.priorityAgingMs,
        `no priority: listener "${grouped.id}" has a group on the same queue "${queue.queue}" ` +
          '(a queue is either grouped or prioritized)',
      );
    }
  }

  /** The largest `batch.maxSize` of the listeners of `queue`; 0 when none is batched. */
  batchSize(queue: string): number {
    let size = 0;
    for (const { definition } of this.byId.values()) {
      const batch = definition.queue?.queue === queue ? definition.queue.batch : undefined;
      if (batch && batch.maxSize > size) size = batch.maxSize;
    }
    return size;
  }

  /** Whether a listener of `queue` has a group: then every job of the queue gets one. */
  isGrouped(queue: string): boolean {
    return this.groupedQueues.has(queue);
  }

  /**
   * Whether a listener of `queue` has a group rate limit: its worker never reads ahead, since a
   * take counts the start of a rate-limited group, and a job waiting in read-ahead would start
   * later than counted.
   */
  isRateLimited(queue: string): boolean {
    for (const { definition } of this.byId.values()) {
      if (definition.queue?.queue === queue && definition.queue.group?.rateLimit) return true;
    }
    return false;
  }

  /** Removes a listener by id; returns whether it was registered. */
  remove(id: string): boolean {
    const entry = this.byId.get(id);
    if (!entry) return false;
    for (const pattern of entry.definition.patterns) this.trie.remove(pattern, entry);
    this.byId.delete(id);
    for (const alias of entry.definition.aliases ?? []) this.byAlias.delete(alias);
    const grouped = entry.definition.queue?.group && entry.definition.queue.queue;
    if (grouped) {
      const left = (this.groupedQueues.get(grouped) ?? 1) - 1;
      if (left > 0) this.groupedQueues.set(grouped, left);
      else this.groupedQueues.delete(grouped);
    }
    this.forget();
    return true;
  }

  /** The listeners of `name`, by priority (higher first), then registration order. */
  resolve(name: string): ResolvedListeners {
    return this.cache.get(name) ?? this.match(name);
  }

  /**
   * `resolve` for a name being emitted: a name seen before costs one Map lookup and no check;
   * an unseen one is checked first, so only valid names are ever cached.
   * @throws InvalidEventNameError
   */
  resolveEmitted(name: string): ResolvedListeners {
    if (name === this.lastName) return this.lastResolved;
    let resolved = this.cache.get(name);
    if (resolved === undefined) {
      assertEventName(name);
      resolved = this.match(name);
    }
    this.lastName = name;
    this.lastResolved = resolved;
    return resolved;
  }

  /** Drops every resolved set: the listeners changed. */
  private forget(): void {
    this.cache.clear();
    this.lastName = undefined;
    this.lastResolved = EMPTY;
  }

  private match(name: string): ResolvedListeners {
    let entries = this.trie.match(name);
    // The library's own events reach only listeners that name them (see system-events.ts).
    if (isSystemEvent(name)) {
      entries = entries.filter((e) => e.definition.patterns.some(isSystemPattern));
    }
    let resolved = EMPTY;
    if (entries.length > 0) {
      entries.sort((a, b) => b.definition.priority - a.definition.priority || a.seq - b.seq);
      const inProcess: ListenerDefinition[] = [];
      const contexts: ListenerContext[] = [];
      const queued: ListenerDefinition[] = [];
      for (const { definition, context } of entries) {
        if (definition.queue) queued.push(definition);
        else {
          inProcess.push(definition);
          contexts.push(context);
        }
      }
      resolved = {
        inProcess,
        contexts,
        hasAsync: inProcess.some((l) => l.isAsync !== false),
        queued,
      };
    }
    if (this.cache.size >= MAX_CACHED_NAMES) this.cache.clear();
    this.cache.set(name, resolved);
    return resolved;
  }

  /** A listener by id, or by one of its former ids (`@OnEvent(..., { aliases })`). */
  get(id: string): ListenerDefinition | undefined {
    return (this.byId.get(id) ?? this.byAlias.get(id))?.definition;
  }

  /** Every listener, in registration order. */
  all(): ListenerDefinition[] {
    return [...this.byId.values()].map((e) => e.definition);
  }

  /** The event class registered under `name`, to rehydrate queued class events. */
  eventClass(name: string): Function | undefined {
    return this.classes.get(name);
  }

  /** Records an event class seen at emit time, so workers in this process can rehydrate it. */
  rememberEventClass(name: string, eventClass: Function): void {
    if (!this.classes.has(name)) this.classes.set(name, eventClass);
  }
}
