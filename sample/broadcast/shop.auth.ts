import { Injectable } from '@nestjs/common';
import {
  BroadcastChannel,
  type BroadcastAuthenticator,
  type BroadcastHandshake,
} from 'nestjs-events';

interface Customer {
  readonly id: string;
}

/** Demo only: the handshake's `token` is the customer's name. Check a real session or JWT here. */
@Injectable()
export class DemoAuthenticator implements BroadcastAuthenticator<Customer> {
  authenticate(handshake: BroadcastHandshake): Customer | null {
    const token = handshake.auth.token;
    return typeof token === 'string' && /^[a-z]{1,20}$/.test(token) ? { id: token } : null;
  }
}

@Injectable()
export class ShopChannels {
  /** A customer sees their own orders only. */
  @BroadcastChannel('customers.{customer}')
  customer(user: Customer, { customer }: { customer: string }): boolean {
    return user.id === customer;
  }
}
