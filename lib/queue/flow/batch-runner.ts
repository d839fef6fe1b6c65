import type { EventEnvelope } from '../../event/event-envelope.js';
import type { ListenerContext, ListenerDefinition } from '../../discovery/listener-definition.js';
import { BatchItemsFailedError } from '../../errors/batch-items-failed.error.js';
import { LostOwnershipError } from '../../errors/lost-ownership.error.js';
import { ReleaseJobSignal } from '../../middleware/release-job.signal.js';
import { AttemptAbort } from '../attempt-abort.js';
import { receiptKey, type InFlight } from '../in-flight.js';
import { SHUTDOWN_REASON, type JobRunner } from '../job-runner.js';
import type { JobSettler } from '../job-settler.js';
import type { ReservedJob } from '../queue-job.js';

/** One job of a batch, read and checked (`JobRunner.prepare`). */
export interface BatchItem {
  readonly job: ReservedJob;
  readonly event: EventEnvelope;
}

/**
 * Runs one batch of a batched listener (`@ShouldQueue({ batch })`) as one attempt: the handler
 * gets the envelopes in an array, with one signal (timeout, shutdown, lost ownership of any of
 * its jobs). Each job is still held, heartbeated and settled on its own, so the transport fences
 * every settle: a worker whose batch was reclaimed cannot settle it.
 */
export class BatchRunner {
  constructor(
    private readonly runner: JobRunner,
    private readonly settler: JobSettler,
    private readonly inFlight: InFlight,
  ) {}

  /** Resolves once the batch ran and its settles are in flight or done; never rejects. */
  async run(listener: ListenerDefinition, items: readonly BatchItem[]): Promise<void> {
    const controller = new AttemptAbort();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const startedAt = Date.now();
    for (const { job } of items) {
      const running = { job, controller, done, startedAt, isReportedLong: false };
      this.inFlight.running.set(receiptKey(job), running);
    }
    try {
      await this.settle(listener, items, await this.call(listener, items, controller), controller);
    } finally {
      for (const { job } of items) this.inFlight.running.delete(receiptKey(job));
      finish();
    }
  }

  /** Calls the handler; resolves with what it threw, or undefined when it succeeded. */
  private async call(
    listener: ListenerDefinition,
    items: readonly BatchItem[],
    controller: AttemptAbort,
  ): Promise<{ readonly error: unknown } | undefined> {
    const events = items.map((item) => item.event);
    const first = items[0].job;
    const context: ListenerContext = {
      get signal(): AbortSignal {
        return controller.signal;
      },
      attempt: Math.max(...items.map((item) => item.job.attempt)),
      queue: first.queue,
      listener: listener.id,
    };
    // The listener's call takes the array where a single listener takes one envelope.
    const call = (): unknown => listener.invoke(events as unknown as EventEnvelope, context);
    try {
      await controller.outcome(listener.queue!.timeout, listener.id, call);
      return undefined;
    } catch (error) {
      return { error };
    }
  }

  private async settle(
    listener: ListenerDefinition,
    items: readonly BatchItem[],
    outcome: { readonly error: unknown } | undefined,
    controller: AttemptAbort,
  ): Promise<void> {
    if (outcome === undefined) {
      for (const { job } of items) this.runner.ackLater(job);
      return;
    }
    const { error } = outcome;
    // Aborted by shutdown: the jobs stay pending for another worker or the next start.
    if (controller.reason === SHUTDOWN_REASON) return;
    if (controller.reason instanceof LostOwnershipError) {
      // Another worker took some of the jobs (their settles would be refused): the others go
      // back to the queue, the attempt not counted.
      return this.each(items, ({ job }) => this.settler.release(job, 0));
    }
    if (error instanceof ReleaseJobSignal) {
      return this.each(items, ({ job }) => this.settler.release(job, error.delayMs));
    }
    const failed = failedItems(items, error);
    await this.each(items, (item) => {
      const itemError = failed.get(item.event.id);
      if (itemError === undefined) {
        this.runner.ackLater(item.job);
        return Promise.resolve();
      }
      return this.runner.fail(listener, item.event, item.job, itemError.error);
    });
  }

  /** Settles each item with `settle`; a settle refused (stale) or failed is reported, not thrown. */
  private async each(
    items: readonly BatchItem[],
    settle: (item: BatchItem) => Promise<void>,
  ): Promise<void> {
    await Promise.all(
      items.map((item) =>
        settle(item).catch((error: unknown) => this.runner.reportUnsettled(item.job, error)),
      ),
    );
  }
}

/**
 * The items that failed, by event id: those a `BatchItemsFailedError` names, or all of them for
 * any other error (the batch fails as a unit). A `BatchItemsFailedError` naming an event that is
 * not in the batch fails the whole batch with a message that says so.
 */
function failedItems(
  items: readonly BatchItem[],
  error: unknown,
): Map<string, { readonly error: unknown }> {
  const failed = new Map<string, { readonly error: unknown }>();
  if (error instanceof BatchItemsFailedError) {
    const ids = new Set(items.map((item) => item.event.id));
    const unknown = error.failures.find((failure) => !ids.has(failure.id));
    if (unknown === undefined) {
      for (const failure of error.failures) failed.set(failure.id, { error: failure.error });
      return failed;
    }
    error = new Error(
      `BatchItemsFailedError names event ${String(unknown.id)}, which is not in the batch: the whole batch failed`,
      { cause: error },
    );
  }
  for (const item of items) failed.set(item.event.id, { error });
  return failed;
}
