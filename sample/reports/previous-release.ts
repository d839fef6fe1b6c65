import type { INestApplicationContext } from '@nestjs/common';
import { QUEUE_TRANSPORT } from 'nestjs-events';

/** The part of the queue transport this demo needs: storing one job. */
interface JobStore {
  enqueue(
    jobs: { id: string; queue: string; listener: string; payload: string; delayMs: number }[],
  ): Promise<void>;
}

/**
 * Leaves in the `reports` queue the job a previous release (0.1: plain JSON envelopes, and
 * `order.placed` at version 1, `{ orderId, total }`) would have left there during a rolling
 * deploy. The worker upcasts it on read: `ReportListeners.onPlaced` prints v2 data.
 */
export async function storeJobOfPreviousRelease(
  app: INestApplicationContext,
  order: { orderId: string; total: number },
): Promise<void> {
  const id = `legacy-${order.orderId}`;
  const envelope = { id, name: 'order.placed', data: order, metadata: {}, timestamp: Date.now() };
  await app.get<JobStore>(QUEUE_TRANSPORT).enqueue([
    {
      id: `${id}:ReportListeners.onPlaced`,
      queue: 'reports',
      listener: 'ReportListeners.onPlaced',
      payload: JSON.stringify(envelope),
      delayMs: 0,
    },
  ]);
}
