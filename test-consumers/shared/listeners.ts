import { Injectable } from '@nestjs/common';
import { OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';

/** The listeners of the consumer apps: one queued, one in-process; calls kept on the instance. */
@Injectable()
export class OrderListeners {
  readonly queued: string[] = [];
  readonly inProcess: string[] = [];

  @OnEvent('order.created')
  @ShouldQueue({ queue: 'consumer', tries: 1 })
  sendConfirmation(event: EventEnvelope<{ id: string }>): void {
    this.queued.push(event.data.id);
  }

  @OnEvent('order.created')
  audit(event: EventEnvelope<{ id: string }>): void {
    this.inProcess.push(event.data.id);
  }
}
