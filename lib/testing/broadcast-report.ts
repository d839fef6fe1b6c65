import { BROADCAST_JOB_EVENT } from '../broadcasting/broadcasting.constants.js';
import { planBroadcast, type BroadcastMessage } from '../broadcasting/should-broadcast.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { describeValue } from '../errors/events.error.js';
import { notificationEventName, type Notification } from '../notifications/notification.js';
import type { DispatchRecord } from './event-facade.state.js';
import type { EventRef } from './event-ref.js';

/** The broadcast an envelope makes: a `ShouldBroadcast` event's, or a direct one (recorded). */
function broadcastOf(envelope: EventEnvelope): BroadcastMessage | undefined {
  if (envelope.name === BROADCAST_JOB_EVENT) return envelope.data as BroadcastMessage;
  return planBroadcast(envelope)?.message;
}

/**
 * The records that may broadcast as `ref`: its events, and the broadcasts sent under its name
 * (`Broadcaster.broadcast(channels, name, data)` while faking).
 */
export function broadcastRecords(
  records: readonly DispatchRecord[],
  ref: EventRef,
): DispatchRecord[] {
  return records.filter(({ envelope }) =>
    envelope.name === BROADCAST_JOB_EVENT
      ? ref.matches((envelope.data as BroadcastMessage).event)
      : ref.matches(envelope.name),
  );
}

/**
 * Why none of `records` would broadcast to `channel` (a wire name such as `private-orders.1`),
 * or undefined when one would. Works out the channels as the relay does at emit time:
 * `broadcastWhen()`, then `broadcastOn()`.
 */
export function broadcastMismatch(
  records: readonly DispatchRecord[],
  label: string,
  channel: string,
): string | undefined {
  if (records.length === 0) {
    return `Expected ${label} to be broadcast on "${channel}", but it was not dispatched.`;
  }
  const seen: string[] = [];
  for (const { envelope } of records) {
    let outcome: string;
    try {
      const message = broadcastOf(envelope);
      if (message?.channels.includes(channel)) return undefined;
      outcome =
        message === undefined
          ? 'no broadcast (not ShouldBroadcast, or broadcastWhen() false)'
          : `channels ${message.channels.map((c) => `"${c}"`).join(', ')}`;
    } catch (error) {
      outcome = `broadcastOn() threw ${(error as Error)?.message ?? describeValue(error)}`;
    }
    seen.push(`  - ${envelope.id}: ${outcome}`);
  }
  return (
    `Expected ${label} to be broadcast on "${channel}", but none of its ` +
    `${records.length} dispatches would be:\n${seen.join('\n')}`
  );
}

/** The channel's notification jobs among `records` (see `notificationEventName`). */
export function notificationsOn(
  records: readonly DispatchRecord[],
  channel: string,
): Notification[] {
  const name = notificationEventName(channel);
  return records
    .filter((r) => r.envelope.name === name)
    .map((r) => r.envelope.data as Notification);
}
