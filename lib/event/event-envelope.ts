/**
 * What every listener receives: the event's data with its identity and context.
 *
 * @typeParam T the type of `data`.
 * @typeParam N the type of `name` (a literal once the event map is declared).
 */
export interface EventEnvelope<T = unknown, N extends string = string> {
  /** Unique, and sortable by creation time (lexicographic order is emit order within a process). */
  readonly id: string;
  /** The event name, such as `order.created`. */
  readonly name: N;
  /** The payload; for a class event, the instance that was emitted (rehydrated in workers). */
  readonly data: T;
  /** String context carried with the event: `correlationId`, `causationId` and your own keys. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch, when the event was emitted. */
  readonly timestamp: number;
  /**
   * The version of the event's shape: a class's `static eventVersion`, or one past the last
   * `@Upcaster` of its name. Absent means 1. Listeners see the current version (older events are
   * upcast where they are read).
   */
  readonly version?: number;
  /** The attempt number (from 1) when a queued listener runs it; absent in-process. */
  readonly attempt?: number;
}
