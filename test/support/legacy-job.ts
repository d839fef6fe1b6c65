import type { EventQueues } from 'nestjs-events';
import { serializeEnvelope } from '../../lib/event/event.serializer.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { waitFor } from './wait-for.js';

let seq = 0;

/**
 * Stores a job as an older producer would have (no emit-side check): `data` under `name`, for the
 * queued listener `listener` of `queue`. Resolves to the job's dead letter once the worker
 * dead-lettered it (the only outcome the callers expect).
 */
export async function storeLegacyJobUntilDead(
  transport: QueueTransport,
  queues: EventQueues,
  job: { name: string; data: unknown; queue: string; listener: string },
): Promise<{ reason: string; error?: string }> {
  const id = `legacy-${process.pid}-${++seq}`;
  const envelope = {
    id,
    name: job.name,
    data: job.data,
    metadata: { correlationId: id },
    timestamp: Date.now(),
  };
  await transport.enqueue([
    {
      id: `${id}:${job.listener}`,
      queue: job.queue,
      listener: job.listener,
      payload: serializeEnvelope(envelope, 1024 * 1024),
      delayMs: 0,
    },
  ]);
  await waitFor(async () => (await queues.listDead(job.queue)).length === 1);
  const [dead] = await queues.listDead(job.queue);
  return dead;
}
