import { Module } from '@nestjs/common';
import { EventsBroadcastingModule, EventsModule, EventsNotificationsModule } from 'nestjs-events';
import { DemoAuthenticator, ShopChannels } from './shop.auth.js';
import { ShopController } from './shop.controller.js';
import { EmailChannel, PushChannel, SignupListeners, SmsChannel } from './notification.channels.js';

/** The broadcasting sample: an HTTP app whose page listens on a public and a private channel. */
@Module({
  imports: [
    EventsModule.forRoot({ redis: process.env.REDIS_URL || undefined }),
    EventsBroadcastingModule.forRoot({ authenticator: DemoAuthenticator }),
    EventsNotificationsModule.forRoot({ channels: [EmailChannel, PushChannel, SmsChannel] }),
  ],
  controllers: [ShopController],
  providers: [ShopChannels, SignupListeners],
})
export class ShopModule {}
