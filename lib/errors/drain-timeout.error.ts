import { EventsError } from './events.error.js';
import type { QueueCounts } from '../queue/queue-job.js';

/** `EventQueues.drain()` gave up: jobs were still waiting, delayed or running at its deadline. */
export class DrainTimeoutError extends EventsError {
  constructor(
    readonly timeoutMs: number,
    readonly counts: Readonly<Record<string, QueueCounts>>,
  ) {
    const busy = Object.entries(counts)
      .filter(([, c]) => c.waiting + c.delayed + c.active > 0)
      .map(([q, c]) => `"${q}" (waiting ${c.waiting}, delayed ${c.delayed}, active ${c.active})`);
    super(
      'EVENTS_DRAIN_TIMEOUT',
      `Queues not idle after ${timeoutMs} ms: ${busy.join(', ') || 'none busy at the last look'}.`,
    );
  }
}
