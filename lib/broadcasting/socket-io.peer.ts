import { MissingPeerDependencyError } from '../errors/missing-peer.error.js';

// socket.io is an optional peer: this file is the only one that loads it, and only when the
// broadcasting module boots. The shapes below are the part of socket.io the gateway uses, so no
// declaration file of the package names socket.io (a consumer without it still compiles).

/** What a client sent when it connected. */
export interface BroadcastHandshake {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly query: Record<string, unknown>;
  /** The `auth` object the client passed to `io(url, { auth })`. */
  readonly auth: Record<string, unknown>;
  readonly address: string;
}

/** A socket as seen from any instance (`fetchSockets`). */
export interface IoRemoteSocket {
  readonly id: string;
  readonly data: IoSocketData;
}

/** What the gateway keeps on each socket (`socket.data`, visible to every instance). */
export interface IoSocketData {
  user?: unknown;
  /** Presence channels joined, with the member info the authorizer returned. */
  presence?: Record<string, unknown>;
  /** The instance holding the socket (presence across instances). */
  instance?: string;
}

export interface IoSocket {
  readonly id: string;
  readonly handshake: BroadcastHandshake;
  readonly connected: boolean;
  data: IoSocketData;
  join(room: string): void | Promise<void>;
  leave(room: string): void | Promise<void>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  emit(event: string, payload: unknown): unknown;
  to(room: string): { emit(event: string, payload: unknown): unknown };
}

export interface IoBroadcast {
  except(room: string | string[]): IoBroadcast;
  emit(event: string, payload: unknown): unknown;
  fetchSockets(): Promise<IoRemoteSocket[]>;
}

export interface IoServer {
  use(fn: (socket: IoSocket, next: (error?: Error) => void) => void): unknown;
  on(event: 'connection', listener: (socket: IoSocket) => void): unknown;
  /** A server-side event from another instance (`serverSideEmit`). */
  on(event: string, listener: (...args: never[]) => void): unknown;
  to(room: string | string[]): IoBroadcast;
  in(room: string | string[]): IoBroadcast;
  adapter(factory: unknown): unknown;
  attach(server: unknown): unknown;
  serverSideEmit(event: string, payload: unknown): unknown;
  /** Resolves with one answer per other instance; rejects when one does not answer in time. */
  serverSideEmitWithAck(event: string): Promise<unknown[]>;
  readonly local: {
    disconnectSockets(close: boolean): void;
    to(room: string): { emit(event: string, payload: unknown): unknown };
  };
  readonly engine: { close(): void };
  of(namespace: string): { readonly adapter: { close?(): unknown } };
}

/** Options given to the socket.io server. */
export interface IoServerOptions {
  readonly path: string;
  readonly cors?: unknown;
  readonly serveClient: boolean;
}

/** A new socket.io server, or `MissingPeerDependencyError` naming the package. */
export async function createIoServer(options: IoServerOptions): Promise<IoServer> {
  let io: { Server: new (options: IoServerOptions) => IoServer };
  try {
    io = (await import('socket.io')) as unknown as typeof io;
  } catch (error) {
    throw new MissingPeerDependencyError('EventsBroadcastingModule', 'socket.io', { cause: error });
  }
  return new io.Server(options);
}

/**
 * Closes what the server owns: this instance's sockets, the engine and the adapter (its Redis
 * subscriptions). Not `io.close()`: that also closes the HTTP server, which is the application's
 * and waits for its keep-alive connections.
 */
export async function closeIoServer(io: IoServer): Promise<void> {
  io.local.disconnectSockets(true);
  io.engine.close();
  await io.of('/').adapter.close?.();
}
