import type { EventEnvelope } from '../event/event-envelope.js';
import { toChannelRef, type ChannelRef } from './channel.js';

/**
 * A class event that is also pushed to browsers: `broadcastOn()` names its channels. The other
 * methods are optional.
 *
 * @example
 * class OrderShipped implements ShouldBroadcast {
 *   static readonly eventName = 'order.shipped';
 *   constructor(readonly orderId: string) {}
 *   broadcastOn() { return [PrivateChannel(`orders.${this.orderId}`)]; }
 * }
 */
export interface ShouldBroadcast {
  /** The channels the event goes to (one, or a list). */
  broadcastOn(): ChannelRef | string | readonly (ChannelRef | string)[];
  /** The name clients listen for. @default the event name */
  broadcastAs?(): string;
  /** What clients receive. @default the event's own enumerable properties */
  broadcastWith?(): unknown;
  /** False skips the broadcast. @default true */
  broadcastWhen?(): boolean;
  /** False sends at emit time; true stores a job on the broadcasts queue. @default true */
  shouldQueueBroadcast?(): boolean;
}

/** One broadcast, ready to send: what a queued broadcast job carries. */
export interface BroadcastMessage {
  readonly channels: readonly string[];
  /** The name clients listen for. */
  readonly event: string;
  /** The id of the event that caused it (clients may dedupe on it). */
  readonly id: string;
  readonly data: unknown;
  /** A socket id that must not receive it (the one that caused the event: "to others"). */
  readonly except?: string;
}

/** Event-context metadata key holding the socket id of the request that caused an event. */
export const SOCKET_ID_METADATA = 'socketId';

/** Whether `value` is a `ShouldBroadcast` event. */
export function isShouldBroadcast(value: unknown): value is ShouldBroadcast {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as ShouldBroadcast).broadcastOn === 'function'
  );
}

/**
 * The wire names of the channels a `ShouldBroadcast` event goes to, checked; null when
 * `broadcastWhen()` is false.
 *
 * @throws InvalidChannelNameError when `broadcastOn()` names a bad channel.
 */
export function channelsOf(event: ShouldBroadcast): string[] | null {
  if (event.broadcastWhen && event.broadcastWhen() === false) return null;
  const on = event.broadcastOn();
  const list = (Array.isArray(on) ? on : [on]) as (ChannelRef | string)[];
  return [...new Set(list.map((c) => toChannelRef(c).name))];
}

/**
 * What a `ShouldBroadcast` envelope sends, or undefined when it does not broadcast.
 * `checked`: what `channelsOf` found when the emit was checked (the event's methods run once).
 *
 * @throws InvalidChannelNameError when `broadcastOn()` names a bad channel.
 */
export function planBroadcast(
  envelope: EventEnvelope,
  checked?: readonly string[] | null,
): { message: BroadcastMessage; isQueued: boolean } | undefined {
  const event = envelope.data;
  if (!isShouldBroadcast(event)) return undefined;
  const channels = checked === undefined ? channelsOf(event) : checked;
  if (channels === null) return undefined;
  const except = envelope.metadata[SOCKET_ID_METADATA];
  const message: BroadcastMessage = {
    channels,
    event: event.broadcastAs ? event.broadcastAs() : envelope.name,
    id: envelope.id,
    data: event.broadcastWith ? event.broadcastWith() : { ...event },
    ...(except ? { except } : {}),
  };
  return { message, isQueued: event.shouldQueueBroadcast ? event.shouldQueueBroadcast() : true };
}
