import { Injectable } from '@nestjs/common';

/** Stand-ins for the systems an order touches: stock and payments (in memory). */
@Injectable()
export class Warehouse {
  readonly stock = new Map<string, number>([['book', 10]]);
  readonly reservations = new Map<string, string>();
  readonly payments = new Map<string, number>();
  readonly refunds: string[] = [];

  reserve(orderId: string, sku: string): string {
    this.stock.set(sku, (this.stock.get(sku) ?? 0) - 1);
    this.reservations.set(orderId, sku);
    return `r-${orderId}`;
  }

  release(orderId: string): void {
    const sku = this.reservations.get(orderId);
    if (sku === undefined) return;
    this.stock.set(sku, (this.stock.get(sku) ?? 0) + 1);
    this.reservations.delete(orderId);
  }
}
