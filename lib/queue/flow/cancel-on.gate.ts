import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../../event/event-envelope.js';
import { deserializeEnvelope } from '../../event/event.serializer.js';
import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import { JobCancelledError } from '../../errors/job-cancelled.error.js';
import type { CoordinationStore } from '../../middleware/coordination.store.js';
import type { AttemptAbort } from '../attempt-abort.js';
import type { ReservedJob } from '../queue-job.js';
import type { QueueTransport } from '../queue-transport.interface.js';

/** How long (ms) a cancel request for a running job is kept: longer than any sane attempt. */
const CANCEL_MARK_MS = 24 * 3_600_000;

/**
 * `cancelOn`: a later matching event removes the listener's waiting and delayed jobs (a scan of
 * its queue, `QueueTransport.removeMatching`) and marks its matching running ones cancelled in
 * the coordination store. A running job checks its mark every `pollMs` (at once in this
 * process), and when it starts, and aborts with a `JobCancelledError`.
 */
export class CancelOnGate {
  private readonly logger = new Logger('CancelOn');
  /** Running attempts of cancelOn listeners in this process, by job id. */
  private readonly local = new Map<string, () => void>();

  constructor(
    private readonly store: CoordinationStore,
    private readonly transport: QueueTransport,
    private readonly eventClass: (name: string) => Function | undefined,
    private readonly pollMs: number,
  ) {}

  /** Cancels what `event` matches among the jobs of `listener`; resolves to how many. */
  async cancel(listener: ListenerDefinition, event: EventEnvelope): Promise<number> {
    const options = listener.queue?.cancelOn;
    const queue = listener.queue?.queue;
    if (options === undefined || queue === undefined) return 0;
    const matches = (payload: string): boolean => {
      let job: EventEnvelope;
      try {
        job = deserializeEnvelope(payload, this.eventClass);
      } catch {
        return false; // A malformed job is the worker's to dead-letter.
      }
      // Only jobs of earlier events: the cancelling event never cancels its own jobs.
      if (job.id === event.id) return false;
      try {
        return options.match(job, event) === true;
      } catch (error) {
        this.logger.error(
          `cancelOn.match of ${listener.id} threw for job event ${job.id}: ${String(error)}`,
        );
        return false;
      }
    };
    const { removed, running } = await this.transport.removeMatching(queue, listener.id, matches);
    for (const id of running) {
      await this.store.set(markOf(id), event.id, CANCEL_MARK_MS);
      this.local.get(id)?.();
    }
    return removed + running.length;
  }

  /** Runs `run` unless the job was cancelled; aborts it once it is. */
  async around(
    job: ReservedJob,
    controller: AttemptAbort,
    run: () => Promise<unknown> | undefined,
  ): Promise<unknown> {
    const cancel = (): void =>
      controller.abort(new JobCancelledError(job.id, job.queue, job.listener, 'cancel-on'));
    if ((await this.store.get(markOf(job.id))) !== undefined) return undefined;
    this.local.set(job.id, cancel);
    const timer = setInterval(() => {
      this.store.get(markOf(job.id)).then(
        (mark) => mark !== undefined && cancel(),
        (error: unknown) =>
          this.logger.warn(`Reading the cancel mark of ${job.id} failed: ${String(error)}`),
      );
    }, this.pollMs);
    timer.unref();
    try {
      return await run();
    } finally {
      clearInterval(timer);
      this.local.delete(job.id);
    }
  }
}

function markOf(jobId: string): string {
  return `cancelled:${jobId}`;
}
