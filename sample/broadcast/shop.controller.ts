import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Body, Controller, Get, Header, Post } from '@nestjs/common';
import { EventBus } from 'nestjs-events';
import { PAGE } from './page.js';
import { OrderPlaced, type Signup } from './shop.events.js';

let orderSeq = 1000;

@Controller()
export class ShopController {
  constructor(private readonly bus: EventBus) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  /** The browser client, as built into dist/ (the page imports it). */
  @Get('broadcast-client.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  client(): Promise<string> {
    return readFile(fileURLToPath(import.meta.resolve('nestjs-events/broadcast-client')), 'utf8');
  }

  /** Places an order; send `X-Socket-Id` and the sender's own page is skipped. */
  @Post('orders')
  async place(@Body() body: { customer: string; total: number }): Promise<{ orderId: string }> {
    const orderId = `o-${++orderSeq}`;
    await this.bus.emit(new OrderPlaced(orderId, String(body.customer), Number(body.total)));
    return { orderId };
  }

  @Post('signup')
  async signup(@Body() body: Signup): Promise<{ ok: true }> {
    await this.bus.emit('user.signup', { email: String(body.email), name: String(body.name) });
    return { ok: true };
  }
}
