import { InvalidChannelNameError } from '../errors/invalid-channel-name.error.js';

/** Longest channel name on the wire (prefix included). */
export const MAX_CHANNEL_NAME_LENGTH = 200;

// ASCII only: no wildcard, no space, no Unicode look-alike of a legitimate name.
const CHANNEL_NAME = /^[A-Za-z0-9._=-]+$/;

/** Who may listen on a channel: anyone, authorized users, authorized users who see each other. */
export type ChannelKind = 'public' | 'private' | 'presence';

/** A channel a broadcast goes to: `name` is the wire name (`private-orders.1`). */
export interface ChannelRef {
  readonly kind: ChannelKind;
  /** The name on the wire: `<name>`, `private-<name>` or `presence-<name>`. */
  readonly name: string;
}

/** Throws `InvalidChannelNameError` unless `name` is a valid wire name. */
export function assertChannelName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new InvalidChannelNameError(name, 'it is not a string');
  if (name.length === 0) throw new InvalidChannelNameError(name, 'it is empty');
  if (name.length > MAX_CHANNEL_NAME_LENGTH) {
    throw new InvalidChannelNameError(name, `it is longer than ${MAX_CHANNEL_NAME_LENGTH}`);
  }
  if (!CHANNEL_NAME.test(name)) {
    throw new InvalidChannelNameError(name, 'it contains a character outside [A-Za-z0-9._=-]');
  }
}

function channel(kind: ChannelKind, prefix: string, name: string): ChannelRef {
  if (typeof name === 'string' && (name.startsWith('private-') || name.startsWith('presence-'))) {
    throw new InvalidChannelNameError(name, 'give the name without its private-/presence- prefix');
  }
  const wire = `${prefix}${name}`;
  assertChannelName(wire);
  return Object.freeze({ kind, name: wire });
}

/**
 * A public channel: every connected client may subscribe.
 *
 * @throws InvalidChannelNameError for a name outside the strict pattern.
 */
export function Channel(name: string): ChannelRef {
  return channel('public', '', name);
}

/** A private channel (`private-<name>` on the wire): an `@BroadcastChannel` authorizer decides. */
export function PrivateChannel(name: string): ChannelRef {
  return channel('private', 'private-', name);
}

/** A presence channel (`presence-<name>`): authorized members also see who else is there. */
export function PresenceChannel(name: string): ChannelRef {
  return channel('presence', 'presence-', name);
}

/** The channel a wire name denotes (checked), e.g. `presence-room.1` → presence `room.1`. */
export function parseChannel(wire: unknown): { kind: ChannelKind; name: string; bare: string } {
  assertChannelName(wire);
  if (wire.startsWith('private-')) return { kind: 'private', name: wire, bare: wire.slice(8) };
  if (wire.startsWith('presence-')) return { kind: 'presence', name: wire, bare: wire.slice(9) };
  return { kind: 'public', name: wire, bare: wire };
}

/** A value returned by `broadcastOn()`: a channel made by `Channel()` and friends, or a name. */
export function toChannelRef(value: unknown): ChannelRef {
  if (typeof value === 'string') return parseChannel(value);
  if (value !== null && typeof value === 'object' && 'name' in value && 'kind' in value) {
    return parseChannel((value as ChannelRef).name);
  }
  throw new InvalidChannelNameError(
    value,
    'expected Channel(), PrivateChannel() or PresenceChannel()',
  );
}
