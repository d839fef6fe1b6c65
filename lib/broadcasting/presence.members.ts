import type { IoServer, IoSocket } from './socket-io.peer.js';

/**
 * Members of presence channels, read from the sockets in the channel's room on every instance
 * (`fetchSockets` through the adapter): nothing is stored apart from the sockets themselves, so
 * the members of an instance that dies go with its sockets. A member with several sockets (tabs)
 * is listed once, and joins and leaves once.
 */
export class PresenceMembers {
  constructor(private readonly io: IoServer) {}

  /** Adds the socket to the channel with its member info; resolves to every member. */
  async join(socket: IoSocket, channel: string, member: object): Promise<unknown[]> {
    const key = memberKey(member, socket.id);
    const isFirst = !(await this.keysIn(channel, socket.id)).has(key);
    socket.data.presence = { ...socket.data.presence, [channel]: member };
    await socket.join(channel);
    const members = await this.members(channel);
    socket.emit('presence:here', { channel, members });
    if (isFirst) socket.to(channel).emit('presence:joining', { channel, member });
    return members;
  }

  /** Removes the socket's membership (after it left the room). */
  async leave(socket: IoSocket, channel: string): Promise<void> {
    const member = socket.data.presence?.[channel];
    if (member === undefined) return;
    const { [channel]: _left, ...rest } = socket.data.presence ?? {};
    socket.data.presence = rest;
    await this.announceLeaving(channel, member, socket.id);
  }

  /** A socket went away: it leaves every presence channel it was in. */
  async disconnected(socket: IoSocket): Promise<void> {
    for (const [channel, member] of Object.entries(socket.data.presence ?? {})) {
      await this.announceLeaving(channel, member, socket.id);
    }
  }

  /** The distinct members of a channel, in the order their sockets were found. */
  async members(channel: string): Promise<unknown[]> {
    const byKey = new Map<string, unknown>();
    for (const remote of await this.io.in(channel).fetchSockets()) {
      const member = remote.data.presence?.[channel];
      if (member !== undefined) {
        const key = memberKey(member, remote.id);
        if (!byKey.has(key)) byKey.set(key, member);
      }
    }
    return [...byKey.values()];
  }

  private async announceLeaving(channel: string, member: unknown, socketId: string): Promise<void> {
    const key = memberKey(member, socketId);
    if ((await this.keysIn(channel, socketId)).has(key)) return;
    this.io.to(channel).emit('presence:leaving', { channel, member });
  }

  /** Member keys of the channel's other sockets. */
  private async keysIn(channel: string, except: string): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const remote of await this.io.in(channel).fetchSockets()) {
      const member = remote.data.presence?.[channel];
      if (remote.id !== except && member !== undefined) keys.add(memberKey(member, remote.id));
    }
    return keys;
  }
}

/** A member is its `id` when it has one (several tabs of one user), else its socket. */
function memberKey(member: unknown, socketId: string): string {
  const id = (member as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? `id:${id}` : `socket:${socketId}`;
}
