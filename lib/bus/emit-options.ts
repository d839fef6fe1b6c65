/** Options of one emit. */
export interface EmitOptions {
  /** Deliver the whole event this many ms later (queued jobs durably; in-process by a timer). @default 0 */
  delay?: number;
  /** Extra string metadata; `correlationId` here overrides the inherited one. @default {} */
  metadata?: Record<string, string>;
  /**
   * The event's id, instead of a new one: retrying a failed emit with the same id lets consumers
   * that key on it (the `Idempotent` middleware, your own checks) see one event. A non-empty
   * string of at most 200 characters; ids you choose are not sortable by time. Queued jobs of an
   * emit with an id are stored once within `dedupeWindowMs`: re-emitting it stores nothing twice.
   * @default a new unique, time-sortable id
   */
  id?: string;
  /**
   * The payload is for in-process listeners only: skip the check that it could be queued
   * (functions, symbols, Errors, ...). A queued listener or `store.record` that matches still
   * serializes it, and refuses what it cannot carry. @default false
   */
  inProcessOnly?: boolean;
  /**
   * The transaction to write the event in (a `pg` client inside `BEGIN`, or a TypeORM
   * `EntityManager` / Prisma transaction client with their adapters): the event becomes an
   * outbox row, delivered only once that transaction commits. Needs `forRoot({ outbox })`.
   * @default the transaction of `EventOutbox.transaction` around the emit, if any
   */
  transaction?: unknown;
  /**
   * Outbox rows with the same key are dispatched in the order they were written; a later row
   * waits while an earlier one cannot go.
   * @default the event's `metadata.aggregateId`, else no ordering
   */
  orderingKey?: string;
  /**
   * The group of this emit's jobs for the listeners that have one (`@ShouldQueue({ group })`),
   * instead of what their `group` option gives. A non-empty string of at most 128 bytes.
   * @default what each listener's `group` option gives
   */
  group?: string;
  /**
   * The priority (-10 to 10, higher first) of this event's queued jobs, over the event class's
   * `static readonly priority` and `@ShouldQueue({ priority })`. In-process listeners ignore it.
   * @default the class's, else each listener's
   */
  priority?: number;
}
