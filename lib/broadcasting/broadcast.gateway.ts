import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { RedisConnectionFactory } from '../redis/redis-connection.factory.js';
import { BROADCAST_AUTHENTICATOR, BROADCASTING_OPTIONS } from './broadcasting.constants.js';
import type {
  BroadcastAuthenticator,
  ResolvedBroadcastingOptions,
} from './broadcasting.options.js';
import { ChannelAuthorizers } from './channel.authorizers.js';
import { ChannelSubscriptions } from './channel.subscriptions.js';
import { createRedisAdapter } from './redis-adapter.peer.js';
import { closeIoServer, createIoServer, type IoServer, type IoSocket } from './socket-io.peer.js';

/** Commands whose promises the adapter and ioredis leave unhandled (see `guardCommands`). */
const SUBSCRIBER_COMMANDS = [
  'publish',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
];

/**
 * The socket.io server of the application: mounted on its HTTP server (when it has one),
 * authenticating each connection, and, with `redis` configured, joined to the other instances
 * through the socket.io Redis adapter on connections from the connection factory.
 */
@Injectable()
export class BroadcastGateway implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Broadcasting');
  private server: Promise<IoServer> | undefined;
  private redis: RedisConnectionFactory | undefined;
  private subscriptions: ChannelSubscriptions | undefined;

  constructor(
    @Inject(BROADCASTING_OPTIONS) private readonly options: ResolvedBroadcastingOptions,
    @Inject(EVENTS_OPTIONS) private readonly events: ResolvedEventsOptions,
    @Inject(BROADCAST_AUTHENTICATOR) private readonly authenticator: BroadcastAuthenticator,
    private readonly authorizers: ChannelAuthorizers,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.io();
  }

  /** The server, created on first use (a boot that lacks socket.io fails here, naming it). */
  io(): Promise<IoServer> {
    this.server ??= this.create();
    return this.server;
  }

  private async create(): Promise<IoServer> {
    const io = await createIoServer({
      path: this.options.path,
      cors: this.options.cors,
      serveClient: true,
    });
    if (this.events.redis !== undefined) {
      this.redis = new RedisConnectionFactory(
        this.events.redis,
        `${this.events.prefix}:broadcast`,
        this.events.redisCommandTimeout,
      );
      const pub = await this.redis.create('command', 'broadcast-pub');
      const sub = await this.redis.create('blocking', 'broadcast-sub');
      this.guardCommands(pub, 'publisher');
      this.guardCommands(sub, 'subscriber');
      io.adapter(await createRedisAdapter(pub, sub, `${this.events.prefix}:broadcast`));
    }
    const subscriptions = new ChannelSubscriptions(
      io,
      this.authorizers,
      this.logger,
      this.events.redis !== undefined,
    );
    this.subscriptions = subscriptions;
    io.use((socket, next) => void this.authenticate(socket).then(() => next()));
    io.on('connection', (socket) => subscriptions.connect(socket));
    const http = this.adapterHost?.httpAdapter?.getHttpServer() as unknown;
    if (http) io.attach(http);
    return io;
  }

  /**
   * Neither the adapter nor ioredis (re-subscribing after a reconnect) handles the promises of
   * these commands: one that fails (Redis down, a command timeout, a close during a reconnect)
   * would be an unhandled rejection, which ends the process. Each failure is logged instead (a
   * broadcast then misses the other instances; a queued one is not retried).
   */
  private guardCommands(client: object, label: string): void {
    const target = client as Record<string, (...args: unknown[]) => unknown>;
    let isFailing = false;
    for (const name of SUBSCRIBER_COMMANDS) {
      const command = target[name].bind(target);
      target[name] = (...args: unknown[]) => {
        const sent = command(...args);
        if (!(sent instanceof Promise)) return sent;
        sent.then(
          () => (isFailing = false),
          (error: unknown) => {
            if (isFailing) return;
            isFailing = true;
            this.logger.error(`broadcast ${label}: ${name} failed: ${(error as Error)?.message}`);
          },
        );
        return sent;
      };
    }
  }

  /** Sets `socket.data.user`: the authenticator's user, or null (anonymous) when it throws. */
  private async authenticate(socket: IoSocket): Promise<void> {
    let user: unknown = null;
    try {
      user = (await this.authenticator.authenticate(socket.handshake)) ?? null;
    } catch (error) {
      this.logger.warn(
        `authenticate() threw for socket ${socket.id}; connected as anonymous: ${(error as Error)?.message}`,
      );
    }
    socket.data.user = user;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.subscriptions?.close();
    if (server) {
      const io = await server.catch(() => undefined);
      if (io) await closeIoServer(io);
    }
    await this.redis?.closeAll();
  }
}
