import { Injectable } from '@nestjs/common';
import {
  EventBus,
  OnEvent,
  OrchestratedSaga,
  SagaStep,
  UnrecoverableError,
  type EventEnvelope,
  type SagaStepContext,
} from 'nestjs-events';
import { Warehouse } from './warehouse.js';

/** What starts an order's fulfilment. */
export interface FulfilmentInput {
  readonly orderId: string;
  readonly sku: string;
  readonly total: number;
}

/** What the saga keeps between steps (stored after each one). */
export interface FulfilmentState {
  reservation?: string;
  paymentId?: string;
}

type Ctx = SagaStepContext<FulfilmentInput, FulfilmentState>;

/** Payments above this are declined: the sample's failing order. */
const CARD_LIMIT = 1000;

/**
 * An order's fulfilment: each step is a queued job with retries; when payment fails for good, the
 * inventory reserved before it is released (compensations run in reverse), and `order.failed` is
 * emitted.
 */
@OrchestratedSaga({ name: 'fulfilment' })
@Injectable()
export class OrderFulfilmentSaga {
  constructor(
    private readonly warehouse: Warehouse,
    private readonly bus: EventBus,
  ) {}

  @SagaStep({ tries: 3, backoff: 100 })
  validateInventory(ctx: Ctx): void {
    if ((this.warehouse.stock.get(ctx.input.sku) ?? 0) < 1) {
      throw new UnrecoverableError(`${ctx.input.sku} is out of stock`);
    }
  }

  @SagaStep({ compensate: 'releaseInventory', tries: 3, backoff: 100 })
  reserveInventory(ctx: Ctx): void {
    ctx.state.reservation = this.warehouse.reserve(ctx.input.orderId, ctx.input.sku);
  }

  @SagaStep({ compensate: 'refundPayment', tries: 3, backoff: 100 })
  processPayment(ctx: Ctx): void {
    if (ctx.input.total > CARD_LIMIT) throw new UnrecoverableError('card declined');
    // The step key is the same on every attempt: a payment API deduplicates retries with it.
    this.warehouse.payments.set(ctx.stepKey, ctx.input.total);
    ctx.state.paymentId = ctx.stepKey;
  }

  @SagaStep({ tries: 3, backoff: 100 })
  async confirmOrder(ctx: Ctx): Promise<void> {
    await this.bus.emit('order.completed', { orderId: ctx.input.orderId });
  }

  releaseInventory(ctx: Ctx): void {
    this.warehouse.release(ctx.input.orderId);
    ctx.state.reservation = undefined;
  }

  refundPayment(ctx: Ctx): void {
    if (ctx.state.paymentId) this.warehouse.refunds.push(ctx.state.paymentId);
  }

  /** The saga undid what it did: tell the rest of the application. */
  @OnEvent('saga.fulfilment.compensated')
  async failed(event: EventEnvelope<{ sagaId: string; error?: string }>): Promise<void> {
    await this.bus.emit('order.failed', {
      orderId: event.data.sagaId,
      reason: event.data.error ?? 'unknown',
    });
  }
}
