import { Module, type DynamicModule } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { BroadcastGateway } from './broadcast.gateway.js';
import { BroadcastRelay, broadcastJobs } from './broadcast.relay.js';
import { Broadcaster } from './broadcaster.js';
import { BROADCAST_AUTHENTICATOR, BROADCASTING_OPTIONS } from './broadcasting.constants.js';
import {
  resolveBroadcastingOptions,
  type EventsBroadcastingOptions,
} from './broadcasting.options.js';
import { ChannelAuthorizers } from './channel.authorizers.js';
import { SocketIdInterceptor } from './socket-id.interceptor.js';

/**
 * Pushes `ShouldBroadcast` events to browsers over socket.io (an optional peer, loaded only
 * here), on the application's HTTP server. Needs `EventsModule.forRoot` (its `redis` joins the
 * instances). Global: `Broadcaster` can be injected anywhere.
 */
@Module({})
export class EventsBroadcastingModule {
  /**
   * The module with these options.
   *
   * @example
   * @Module({
   *   imports: [
   *     EventsModule.forRoot({ redis: process.env.REDIS_URL }),
   *     EventsBroadcastingModule.forRoot({ authenticator: TokenAuthenticator }),
   *   ],
   * })
   * export class AppModule {}
   */
  static forRoot(options: EventsBroadcastingOptions): DynamicModule {
    const resolved = resolveBroadcastingOptions(options);
    return {
      module: EventsBroadcastingModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [
        { provide: BROADCASTING_OPTIONS, useValue: resolved },
        resolved.authenticator,
        { provide: BROADCAST_AUTHENTICATOR, useExisting: resolved.authenticator },
        ChannelAuthorizers,
        BroadcastGateway,
        Broadcaster,
        BroadcastRelay,
        broadcastJobs(resolved.queue),
        { provide: APP_INTERCEPTOR, useClass: SocketIdInterceptor },
      ],
      exports: [Broadcaster],
    };
  }
}
