import type { Logger } from '@nestjs/common';
import { parseChannel } from './channel.js';
import type { ChannelAuthorizers } from './channel.authorizers.js';
import { PresenceMembers } from './presence.members.js';
import type { IoServer, IoSocket } from './socket-io.peer.js';

/** What `subscribe` and `unsubscribe` are acknowledged with. */
export interface SubscribeAck {
  readonly ok: boolean;
  /** Presence channels: the members, this one included. */
  readonly members?: unknown[];
  /** Why it was refused: `invalid_channel`, `forbidden` or `bad_request`. */
  readonly error?: 'invalid_channel' | 'forbidden' | 'bad_request';
}

type Ack = (reply: SubscribeAck) => void;

const REFUSED: SubscribeAck = { ok: false, error: 'forbidden' };

/**
 * The documented protocol of one connection: `subscribe` / `unsubscribe` with `{ channel }`,
 * acknowledged with `{ ok, members?, error? }`. Deny by default: a private or presence channel
 * needs a matching `@BroadcastChannel` authorizer that says yes for an authenticated user; until
 * then the socket is never in the channel's room.
 */
export class ChannelSubscriptions {
  private readonly presence: PresenceMembers;

  constructor(
    io: IoServer,
    private readonly authorizers: ChannelAuthorizers,
    private readonly logger: Logger,
    isClustered: boolean,
  ) {
    this.presence = new PresenceMembers(io, isClustered, logger);
  }

  /** Stops the presence checks. */
  close(): void {
    this.presence.sweeper?.close();
  }

  connect(socket: IoSocket): void {
    socket.on('subscribe', (request: unknown, ack: unknown) =>
      this.reply(ack, () => this.subscribe(socket, request)),
    );
    socket.on('unsubscribe', (request: unknown, ack: unknown) =>
      this.reply(ack, () => this.unsubscribe(socket, request)),
    );
    // Announcing who left asks every instance for its sockets: that can fail (Redis away, an
    // adapter request timing out as the server closes). Logged, never an unhandled rejection.
    socket.on('disconnect', () => {
      this.presence.disconnected(socket).catch((error: unknown) => {
        this.logger.warn(`presence:leaving for socket ${socket.id} failed: ${String(error)}`);
      });
    });
  }

  private reply(ack: unknown, run: () => Promise<SubscribeAck>): void {
    run().then(
      (reply) => typeof ack === 'function' && (ack as Ack)(reply),
      (error: unknown) => {
        this.logger.error(`subscription failed: ${(error as Error)?.message}`);
        if (typeof ack === 'function') (ack as Ack)(REFUSED);
      },
    );
  }

  private async subscribe(socket: IoSocket, request: unknown): Promise<SubscribeAck> {
    const wire = channelOf(request);
    if (wire === undefined) return { ok: false, error: 'bad_request' };
    let channel: ReturnType<typeof parseChannel>;
    try {
      channel = parseChannel(wire);
    } catch {
      return { ok: false, error: 'invalid_channel' };
    }
    if (channel.kind === 'public') {
      if (socket.connected) await socket.join(channel.name);
      return { ok: true };
    }
    const verdict = await this.authorize(socket, channel.bare, channel.name);
    // Refused, or the socket left while its authorizer ran: never in the room.
    if (verdict === undefined || !socket.connected) return REFUSED;
    if (channel.kind === 'private') {
      if (verdict !== true) return REFUSED;
      await socket.join(channel.name);
      return { ok: true };
    }
    if (verdict === null || typeof verdict !== 'object') return REFUSED;
    const members = await this.presence.join(socket, channel.name, verdict);
    return { ok: true, members };
  }

  /** The authorizer's answer, or undefined when refused before asking (anonymous, none). */
  private async authorize(socket: IoSocket, bare: string, wire: string): Promise<unknown> {
    const user = socket.data.user;
    if (user === null || user === undefined) return undefined;
    const authorizer = this.authorizers.find(bare);
    if (authorizer === undefined) {
      this.logger.debug?.(`no @BroadcastChannel authorizer matches "${wire}": refused`);
      return undefined;
    }
    try {
      return await authorizer.call(user, authorizer.params);
    } catch (error) {
      this.logger.error(
        `authorizer ${authorizer.id} threw for "${wire}" (refused): ${(error as Error)?.message}`,
        (error as Error)?.stack,
      );
      return undefined;
    }
  }

  private async unsubscribe(socket: IoSocket, request: unknown): Promise<SubscribeAck> {
    const wire = channelOf(request);
    if (wire === undefined) return { ok: false, error: 'bad_request' };
    try {
      parseChannel(wire);
    } catch {
      return { ok: false, error: 'invalid_channel' };
    }
    await socket.leave(wire);
    await this.presence.leave(socket, wire);
    return { ok: true };
  }
}

function channelOf(request: unknown): string | undefined {
  if (request === null || typeof request !== 'object') return undefined;
  const channel = (request as { channel?: unknown }).channel;
  return typeof channel === 'string' ? channel : undefined;
}
