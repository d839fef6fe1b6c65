import { Injectable } from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { createEventId } from '../event/event-id.js';
import { toChannelRef, type ChannelRef } from './channel.js';
import { BroadcastGateway } from './broadcast.gateway.js';
import { BROADCAST_JOB_EVENT } from './broadcasting.constants.js';
import type { BroadcastMessage } from './should-broadcast.js';

/** Options of `Broadcaster.broadcast`. */
export interface BroadcastOptions {
  /** A socket id that must not receive it (the sender's own tab). @default none */
  except?: string;
}

/** What a client receives with each broadcast, under the broadcast's name. */
export interface BroadcastPayload<T = unknown> {
  readonly channel: string;
  readonly id: string;
  readonly data: T;
}

/**
 * Sends to channels through the socket.io server. With `redis` configured, a broadcast from any
 * instance reaches the subscribers connected to every instance, once each.
 */
@Injectable()
export class Broadcaster {
  constructor(
    private readonly gateway: BroadcastGateway,
    private readonly bus: EventBus,
  ) {}

  /**
   * Sends `data` as `event` to every socket subscribed to the channels.
   *
   * Under `EventFacade.fake()` nothing is sent: the broadcast is recorded for `assertBroadcast`.
   *
   * @throws InvalidChannelNameError (rejects) for a bad channel name, before anything is sent.
   * @example
   * await broadcaster.broadcast(Channel('status'), 'maintenance', { at: '22:00' });
   */
  async broadcast(
    channels: ChannelRef | string | readonly (ChannelRef | string)[],
    event: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<void> {
    const list = (Array.isArray(channels) ? channels : [channels]) as (ChannelRef | string)[];
    const names = list.map((c) => toChannelRef(c).name);
    await this.send({ channels: names, event, id: createEventId(), data, except: options.except });
  }

  /**
   * @internal Sends a planned broadcast (its channels already checked); while faking, the test
   * facade records it as a `nestjs-events.broadcast` event instead.
   */
  async send(message: BroadcastMessage): Promise<void> {
    const envelope = () => ({
      id: message.id,
      name: BROADCAST_JOB_EVENT,
      data: message,
      metadata: {},
      timestamp: Date.now(),
    });
    if (this.bus.intercepts(envelope)) return;
    const io = await this.gateway.io();
    for (const channel of message.channels) {
      const target = message.except ? io.to(channel).except(message.except) : io.to(channel);
      target.emit(message.event, { channel, id: message.id, data: message.data });
    }
  }

  /** The ids of the sockets subscribed to a channel, on every instance. */
  async socketsIn(channel: ChannelRef | string): Promise<string[]> {
    const io = await this.gateway.io();
    const sockets = await io.in(toChannelRef(channel).name).fetchSockets();
    return sockets.map((s) => s.id);
  }
}
