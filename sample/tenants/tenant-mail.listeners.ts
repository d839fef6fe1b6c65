import { Injectable } from '@nestjs/common';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';

/**
 * Tenant fairness: one queue, one group per tenant (from the event context's `tenantId`). Tenant
 * "acme" floods the queue; "globex" still gets every other start.
 */
@Injectable()
export class TenantMailListeners {
  /** Tenant and number of each mail, in the order the worker started them. */
  readonly order: string[] = [];

  constructor(
    private readonly bus: EventBus,
    private readonly queues: EventQueues,
  ) {}

  @OnEvent('tenant.mail')
  @ShouldQueue({ queue: 'tenant-mail', group: 'tenantId' })
  send(event: EventEnvelope<{ n: number }>): void {
    this.order.push(`${event.metadata.tenantId}#${event.data.n}`);
  }

  /** acme emits 20 mails, then globex 3; resolves with the start order once all ran. */
  async flood(): Promise<string[]> {
    // Paused while the backlog builds, so the order below does not depend on timing.
    await this.queues.pause('tenant-mail');
    for (let n = 1; n <= 20; n++) {
      await this.bus.emit('tenant.mail', { n }, { metadata: { tenantId: 'acme' } });
    }
    for (let n = 1; n <= 3; n++) {
      await this.bus.emit('tenant.mail', { n }, { metadata: { tenantId: 'globex' } });
    }
    await this.queues.resume('tenant-mail');
    await this.queues.drain();
    return this.order;
  }
}
