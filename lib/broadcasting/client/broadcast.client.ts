import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';

// The browser side of the broadcasting protocol (package export `nestjs-events/broadcast-client`).
// It imports nothing of the server library at run time: only socket.io-client.

/** The acknowledgement of `subscribe`. */
export interface SubscribeResult {
  readonly ok: boolean;
  readonly members?: unknown[];
  readonly error?: string;
}

/** What a listener receives besides the data: the whole message. */
export interface BroadcastEnvelope<T = unknown> {
  readonly channel: string;
  readonly id: string;
  readonly data: T;
}

export type BroadcastListener<T = unknown> = (data: T, message: BroadcastEnvelope<T>) => void;

/** Options of `BroadcastClient`. */
export interface BroadcastClientOptions {
  /** The server's URL. @default the page's origin */
  url?: string;
  /** Sent in the handshake (`handshake.auth` for the authenticator), e.g. `{ token }`. */
  auth?: Record<string, unknown>;
  /** More socket.io-client options (`path`, `transports`, ...). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

/** One subscribed channel: listen to its broadcasts. */
export class ClientChannel {
  private readonly listeners = new Map<string, Set<BroadcastListener>>();
  private readonly errorHandlers = new Set<(result: SubscribeResult) => void>();
  private readonly subscribedHandlers = new Set<(result: SubscribeResult) => void>();
  /** The last acknowledgement (refusals included), undefined before the first. */
  last: SubscribeResult | undefined;

  constructor(readonly name: string) {}

  /** Calls `fn(data, message)` for each broadcast named `event` on this channel. */
  listen<T = unknown>(event: string, fn: BroadcastListener<T>): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as BroadcastListener);
    return this;
  }

  /** Stops calling `fn` (every listener of `event` without `fn`). */
  stopListening(event: string, fn?: BroadcastListener): this {
    if (fn) this.listeners.get(event)?.delete(fn);
    else this.listeners.delete(event);
    return this;
  }

  /** Called with each successful (re)subscription. */
  subscribed(fn: (result: SubscribeResult) => void): this {
    this.subscribedHandlers.add(fn);
    if (this.last?.ok) fn(this.last);
    return this;
  }

  /** Called when the server refuses the subscription (also after a reconnect). */
  error(fn: (result: SubscribeResult) => void): this {
    this.errorHandlers.add(fn);
    if (this.last && !this.last.ok) fn(this.last);
    return this;
  }

  /** @internal */
  acknowledged(result: SubscribeResult): void {
    this.last = result;
    for (const fn of result.ok ? this.subscribedHandlers : this.errorHandlers) fn(result);
  }

  /** @internal */
  dispatch(event: string, message: BroadcastEnvelope): void {
    this.listeners.get(event)?.forEach((fn) => fn(message.data, message));
  }
}

/** A presence channel: also who is here, who joins and who leaves. */
export class PresenceClientChannel extends ClientChannel {
  /** Called with every member when subscribed (again after a reconnect). */
  here<M = unknown>(fn: (members: M[]) => void): this {
    return this.listen<never>('presence:here', (_data, message) =>
      fn((message as unknown as { members: M[] }).members),
    );
  }

  joining<M = unknown>(fn: (member: M) => void): this {
    return this.listen<never>('presence:joining', (_d, m) =>
      fn((m as unknown as { member: M }).member),
    );
  }

  leaving<M = unknown>(fn: (member: M) => void): this {
    return this.listen<never>('presence:leaving', (_d, m) =>
      fn((m as unknown as { member: M }).member),
    );
  }
}

const PRESENCE_EVENTS = new Set(['presence:here', 'presence:joining', 'presence:leaving']);

/**
 * Subscribes to channels of an `EventsBroadcastingModule` server. Subscriptions are sent again
 * after each reconnect (the server authorizes them again).
 *
 * @example
 * const client = new BroadcastClient({ auth: { token } });
 * client.private('orders.42').listen('order.shipped', (data) => render(data));
 * fetch('/orders', { method: 'POST', headers: { 'X-Socket-Id': client.socketId ?? '' } });
 */
export class BroadcastClient {
  /** The socket.io-client socket. */
  readonly socket: Socket;
  private readonly channels = new Map<string, ClientChannel>();

  constructor(options: BroadcastClientOptions = {}) {
    const socketOptions = { ...options.socket, auth: options.auth ?? {} };
    this.socket = options.url ? io(options.url, socketOptions) : io(socketOptions);
    this.socket.on('connect', () => this.channels.forEach((c) => this.subscribe(c)));
    this.socket.onAny((event: string, message: unknown) => {
      const channel = (message as { channel?: unknown } | null)?.channel;
      if (typeof channel !== 'string') return;
      const target = this.channels.get(channel);
      if (!target) return;
      target.dispatch(
        event,
        PRESENCE_EVENTS.has(event)
          ? ({ ...(message as object), data: undefined } as BroadcastEnvelope)
          : (message as BroadcastEnvelope),
      );
    });
  }

  /** This connection's id: send it as `X-Socket-Id` so your own requests' broadcasts skip you. */
  get socketId(): string | undefined {
    return this.socket.id;
  }

  /** A public channel. */
  channel(name: string): ClientChannel {
    return this.open(name, name, ClientChannel);
  }

  /** A private channel (`private-<name>`). */
  private(name: string): ClientChannel {
    return this.open(`private-${name}`, name, ClientChannel);
  }

  /** A presence channel (`presence-<name>`). */
  join(name: string): PresenceClientChannel {
    return this.open(`presence-${name}`, name, PresenceClientChannel);
  }

  /** Unsubscribes from a channel (its wire name or its name under any prefix). */
  leave(name: string): void {
    for (const wire of [name, `private-${name}`, `presence-${name}`]) {
      if (!this.channels.delete(wire)) continue;
      if (this.socket.connected) this.socket.emit('unsubscribe', { channel: wire });
    }
  }

  /** Closes the connection. */
  disconnect(): void {
    this.socket.disconnect();
  }

  private open<C extends ClientChannel>(
    wire: string,
    _name: string,
    Kind: new (name: string) => C,
  ): C {
    const existing = this.channels.get(wire);
    if (existing) return existing as C;
    const channel = new Kind(wire);
    this.channels.set(wire, channel);
    if (this.socket.connected) this.subscribe(channel);
    return channel;
  }

  private subscribe(channel: ClientChannel): void {
    this.socket.emit('subscribe', { channel: channel.name }, (result: SubscribeResult) => {
      if (this.channels.get(channel.name) === channel) channel.acknowledged(result);
    });
  }
}
