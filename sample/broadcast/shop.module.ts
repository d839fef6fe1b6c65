import { Module } from '@nestjs/common';
import {
  EventsBroadcastingModule,
  EventsDashboardModule,
  EventsModule,
  EventsNotificationsModule,
} from 'nestjs-events';
import { DemoAuthenticator, ShopChannels } from './shop.auth.js';
import { ShopController } from './shop.controller.js';
import { EmailChannel, PushChannel, SignupListeners, SmsChannel } from './notification.channels.js';

/** The sample's dashboard answers requests from this machine only. */
function isLocalRequest(request: unknown): boolean {
  const address = (request as { socket?: { remoteAddress?: string } }).socket?.remoteAddress;
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * The broadcasting sample: an HTTP app whose page listens on a public and a private channel,
 * with the events dashboard at /events.
 */
@Module({
  imports: [
    EventsModule.forRoot({ redis: process.env.REDIS_URL || undefined }),
    EventsBroadcastingModule.forRoot({ authenticator: DemoAuthenticator }),
    EventsNotificationsModule.forRoot({ channels: [EmailChannel, PushChannel, SmsChannel] }),
    // The queues, dead letters and a live tail at /events (signup emails masked).
    EventsDashboardModule.forRoot({ auth: isLocalRequest, redact: ['email'] }),
  ],
  controllers: [ShopController],
  providers: [ShopChannels, SignupListeners],
})
export class ShopModule {}
