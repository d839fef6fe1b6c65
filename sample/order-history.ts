import { Injectable } from '@nestjs/common';
import {
  EventReplayer,
  EventStore,
  OnEvent,
  Replayable,
  type EventEnvelope,
  type ReplayResult,
  type StoredEvent,
} from 'nestjs-events';

/**
 * The stream of a recorded event (`forRoot({ store: { streamId } })`): one stream per order, so
 * an order's whole history is one `readStream`; other events go to a stream named after them.
 */
export function orderStreamId(event: EventEnvelope): string {
  const orderId = (event.data as { orderId?: unknown } | null)?.orderId;
  return event.name.startsWith('order.') && typeof orderId === 'string'
    ? `order-${orderId}`
    : event.name;
}

/**
 * A read model of each order's timeline, kept live by `@OnEvent` and rebuilt from the event
 * store by replay. `@Replayable()` marks it safe to replay: the e-mail listeners are not.
 */
@Injectable()
export class OrderHistory {
  private readonly timelines = new Map<string, string[]>();

  constructor(
    private readonly store: EventStore,
    private readonly replayer: EventReplayer,
  ) {}

  @OnEvent('order.*')
  @Replayable()
  track(event: EventEnvelope<{ orderId: string }>): void {
    const line = event.metadata.replayed === 'true' ? `${event.name} (replayed)` : event.name;
    const timeline = this.timelines.get(event.data.orderId) ?? [];
    timeline.push(line);
    this.timelines.set(event.data.orderId, timeline);
  }

  /** The timeline as this read model knows it. */
  timeline(orderId: string): readonly string[] {
    return this.timelines.get(orderId) ?? [];
  }

  /** The order's recorded events, oldest first, straight from the store. */
  async storedHistory(orderId: string): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for await (const event of this.store.readStream(`order-${orderId}`)) events.push(event);
    return events;
  }

  /** Forgets every timeline and rebuilds them from the store, to this read model only. */
  async rebuild(): Promise<ReplayResult> {
    this.timelines.clear();
    return this.replayer.replay({ to: OrderHistory, pattern: 'order.*' });
  }
}
