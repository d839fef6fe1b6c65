import type { Logger } from '@nestjs/common';
import type { IoServer, IoSocket } from './socket-io.peer.js';
import { PresenceSweeper, type PresenceEntry } from './presence.sweeper.js';

/**
 * Members of presence channels, read from the sockets in the channel's room on every instance
 * (`fetchSockets` through the adapter): nothing is stored apart from the sockets themselves, so
 * the members of an instance that dies go with its sockets (with several instances, the
 * `PresenceSweeper` of each survivor announces them leaving). A member with several sockets
 * (tabs) is listed once, and joins and leaves once.
 */
export class PresenceMembers {
  /** Across instances only (the in-memory adapter has no server-side events). */
  readonly sweeper: PresenceSweeper | undefined;

  constructor(
    private readonly io: IoServer,
    isClustered: boolean,
    logger: Logger,
  ) {
    this.sweeper = isClustered
      ? new PresenceSweeper(io, (channel) => this.entries(channel), logger)
      : undefined;
  }

  /** Adds the socket to the channel with its member info; resolves to every member. */
  async join(socket: IoSocket, channel: string, member: object): Promise<unknown[]> {
    const key = memberKey(member, socket.id);
    const isFirst = !(await this.keysIn(channel, socket.id)).has(key);
    socket.data.presence = { ...socket.data.presence, [channel]: member };
    socket.data.instance = this.sweeper?.instance;
    await socket.join(channel);
    const entries = await this.entries(channel);
    const members = distinct(entries);
    socket.emit('presence:here', { channel, members });
    if (isFirst) socket.to(channel).emit('presence:joining', { channel, member });
    this.sweeper?.joined(channel, { key, member, instance: this.sweeper.instance }, entries);
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

  /** The members of a channel's sockets on every instance, one entry per socket. */
  async entries(channel: string): Promise<PresenceEntry[]> {
    const entries: PresenceEntry[] = [];
    for (const remote of await this.io.in(channel).fetchSockets()) {
      const member = remote.data.presence?.[channel];
      if (member !== undefined) {
        entries.push({ key: memberKey(member, remote.id), member, instance: remote.data.instance });
      }
    }
    return entries;
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

/** The distinct members of entries, in the order their sockets were found. */
function distinct(entries: readonly PresenceEntry[]): unknown[] {
  const byKey = new Map<string, unknown>();
  for (const { key, member } of entries) if (!byKey.has(key)) byKey.set(key, member);
  return [...byKey.values()];
}
