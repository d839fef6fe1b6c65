import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SagaScenario } from 'nestjs-events';
import { AppModule } from './app.module.js';
import { OrderFulfilmentSaga } from './orders/order-fulfilment.saga.js';
import { Warehouse } from './orders/warehouse.js';

// How an application tests an orchestrated saga: given an input, then its state and events.
describe('Order fulfilment saga', () => {
  let app: TestingModule;

  beforeEach(async () => {
    app = await Test.createTestingModule({ imports: [AppModule] }).compile();
    await app.init();
  });

  afterEach(async () => {
    await app.close();
  });

  it('completes an order and emits order.completed', async () => {
    const scenario = SagaScenario.for(app, OrderFulfilmentSaga);
    await scenario.given({ orderId: 'o-1', sku: 'book', total: 30 }, { id: 'o-1' });
    await scenario.then({
      status: 'completed',
      state: { reservation: 'r-o-1', paymentId: 'o-1:processPayment' },
      emitted: ['saga.fulfilment.started', 'order.completed', 'saga.fulfilment.completed'],
    });
    expect(app.get(Warehouse).stock.get('book')).toBe(9);
  });

  it('fails at payment, releases the inventory and emits order.failed', async () => {
    const scenario = SagaScenario.for(app, OrderFulfilmentSaga);
    await scenario.given({ orderId: 'o-2', sku: 'book', total: 5000 }, { id: 'o-2' });
    const info = await scenario.then({
      status: 'compensated',
      emitted: ['saga.fulfilment.compensated', 'order.failed'],
    });
    expect(info.error).toBe('processPayment: card declined');
    expect(info.history.map((h) => `${h.step}:${h.outcome}`)).toEqual([
      'validateInventory:completed',
      'reserveInventory:completed',
      'processPayment:failed',
      'reserveInventory:compensated',
    ]);
    expect(app.get(Warehouse).stock.get('book')).toBe(10);
    expect(scenario.emitted.find((e) => e.name === 'order.failed')?.data).toEqual({
      orderId: 'o-2',
      reason: 'processPayment: card declined',
    });
  });
});
