import { Injectable } from '@nestjs/common';
import { EventContext } from '../event/event-context.js';
import type { Aggregate } from './aggregate.js';
import { EventStore } from './event-store.js';
import { ExpectedVersion, type AppendableEvent, type AppendResult } from './event-store.types.js';

/**
 * Loads aggregates from their streams and saves the events they raised, with optimistic
 * concurrency.
 *
 * @example
 * const order = await aggregates.load(Order, 'order-42');
 * order.pay(30);
 * await aggregates.save(order); // WrongExpectedVersionError if the stream moved meanwhile
 */
@Injectable()
export class AggregateRepository {
  constructor(private readonly store: EventStore) {}

  /** A new aggregate of `type` with every event of stream `id` applied (none for a new one). */
  async load<A extends Aggregate<unknown, object>>(
    type: new (id: string) => A,
    id: string,
  ): Promise<A> {
    const aggregate = new type(id);
    for await (const event of this.store.readStream(id)) aggregate.loadEvent(event);
    return aggregate;
  }

  /**
   * Appends the raised events, expecting the version the aggregate was loaded at. Their metadata
   * carries the current event context (correlation, causation, your keys) and `metadata`.
   * Resolves to `undefined` when nothing was raised.
   *
   * @throws WrongExpectedVersionError when another writer saved the same aggregate first.
   */
  async save(
    aggregate: Aggregate<unknown, object>,
    options: { metadata?: Record<string, string> } = {},
  ): Promise<AppendResult | undefined> {
    const raised = aggregate.uncommittedEvents;
    if (raised.length === 0) return undefined;
    const context = EventContext.current();
    const inherited: Record<string, string> = { ...context?.metadata, ...options.metadata };
    if (context?.event) {
      inherited.causationId = context.event.id;
      inherited.correlationId ??= context.event.metadata.correlationId ?? context.event.id;
    }
    const result = await this.store.append(
      aggregate.id,
      // An aggregate's events are typed by its own appliers, not by the event map.
      raised.map((event) => ({
        ...event,
        metadata: { ...inherited, ...event.metadata },
      })) as readonly AppendableEvent[],
      {
        expectedVersion: aggregate.version === 0 ? ExpectedVersion.NoStream : aggregate.version,
      },
    );
    aggregate.markSaved(result.version);
    return result;
  }
}
