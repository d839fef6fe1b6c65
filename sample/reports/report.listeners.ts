import { Injectable, Logger } from '@nestjs/common';
import { OnEvent, ShouldQueue, Upcaster, type EventEnvelope } from 'nestjs-events';

/** The sales report, scheduled in `forRoot({ schedules })` (every second, to see it fire). */
@Injectable()
export class ReportListeners {
  private readonly logger = new Logger(ReportListeners.name);
  private fired!: () => void;
  /** Resolves once the first report ran. */
  readonly firstReport = new Promise<void>((resolve) => (this.fired = resolve));

  @OnEvent('report.sales')
  onReport(event: EventEnvelope<{ period: string }>): void {
    const due = new Date(Number(event.metadata.scheduledFor)).toISOString();
    this.logger.log(
      `${event.data.period} sales report (schedule ${event.metadata.scheduleId}, due ${due})`,
    );
    this.fired();
  }

  /** Queued: a job the previous release left (`order.placed` v1) arrives here upcast to v2. */
  @OnEvent('order.placed')
  @ShouldQueue({ queue: 'reports' })
  onPlaced(event: EventEnvelope<{ orderId: string; total: number; currency: string }>): void {
    const { orderId, total, currency } = event.data;
    this.logger.log(`order.placed v${event.version ?? 1}: ${orderId} ${total} ${currency}`);
  }
}

/**
 * `order.placed` v1 carried `{ orderId, total }`; v2 adds the currency. Jobs and stored events
 * written by an older release are upcast when read: listeners only ever see v2.
 */
@Injectable()
export class OrderPlacedUpcasters {
  @Upcaster('order.placed', { from: 1 })
  toV2(data: { orderId: string; total: number }): {
    orderId: string;
    total: number;
    currency: string;
  } {
    return { ...data, currency: 'EUR' };
  }
}
