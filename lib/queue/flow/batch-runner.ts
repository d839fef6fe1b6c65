import type { EventEnvelope } from '../../event/event-envelope.js';
import { EventContext } from '../../event/event-context.js';
import type { ListenerContext, ListenerDefinition } from '../../discovery/listener-definition.js';
import { LostOwnershipError } from '../../errors/lost-ownership.error.js';
import { ReleaseJobSignal } from '../../middleware/release-job.signal.js';
import { AttemptAbort } from '../attempt-abort.js';
import type { InFlight, Running } from '../in-flight.js';
import { SHUTDOWN_REASON, type JobRunner } from '../job-runner.js';
import type { BatchAttempt } from '../attempt-outcome.js';
import type { JobSettler } from '../job-settler.js';
import type { ReservedJob } from '../queue-job.js';
import { failedItems } from './batch-failures.js';
import type { EventTracer } from '../../tracing/event-tracer.js';

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
    /** Spans of batch calls (`forRoot({ tracing })`), when on. */
    private readonly tracer: EventTracer | null = null,
  ) {}

  /** Resolves once the batch ran and its settles are in flight or done; never rejects. */
  async run(listener: ListenerDefinition, items: readonly BatchItem[]): Promise<void> {
    const controller = new AttemptAbort();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const startedAt = Date.now();
    const held = items.map(({ job }): Running => ({
      job,
      controller,
      done,
      startedAt,
      isReportedLong: false,
      slot: -1,
    }));
    for (const running of held) this.inFlight.running.add(running);
    try {
      const timedFrom = performance.now();
      const error = await this.call(listener, items, controller);
      const attempts = outcomes(items, error, controller);
      // Each job counted once, by how it is settled; the call's duration once.
      this.runner.observer?.observeBatch(listener, attempts, performance.now() - timedFrom);
      await this.settle(listener, attempts, controller);
    } finally {
      for (const running of held) this.inFlight.running.delete(running);
      finish();
    }
  }

  /** Calls the handler (in its span); resolves with what it threw, or undefined when it succeeded. */
  private async call(
    listener: ListenerDefinition,
    items: readonly BatchItem[],
    controller: AttemptAbort,
  ): Promise<{ readonly error: unknown } | undefined> {
    const events = items.map((item) => item.event);
    const first = items[0].job;
    const attempt = Math.max(...items.map((item) => item.job.attempt));
    const context: ListenerContext = {
      get signal(): AbortSignal {
        return controller.signal;
      },
      attempt,
      queue: first.queue,
      listener: listener.id,
    };
    // The listener's call takes the array where a single listener takes one envelope; it has
    // no single cause, so emits inside it inherit no event's context.
    const call = (): unknown =>
      EventContext.runOutside(() => listener.invoke(events as unknown as EventEnvelope, context));
    const run = (): Promise<unknown> =>
      controller.outcome(listener.queue!.timeout, listener.id, call);
    const tracer = this.tracer;
    try {
      await (tracer === null
        ? run()
        : tracer.processBatch({ queue: first.queue, listener: listener.id, attempt, events }, run));
      return undefined;
    } catch (error) {
      return { error };
    }
  }

  private async settle(
    listener: ListenerDefinition,
    attempts: readonly BatchAttempt[],
    controller: AttemptAbort,
  ): Promise<void> {
    // Aborted by shutdown: the jobs stay pending for another worker or the next start.
    if (controller.reason === SHUTDOWN_REASON) return;
    if (controller.reason instanceof LostOwnershipError) {
      // Another worker took some of the jobs (their settles would be refused): the others go
      // back to the queue, the attempt not counted.
      return this.each(attempts, ({ job }) => this.settler.release(job, 0));
    }
    await this.each(attempts, ({ job, event, failure }) => {
      if (failure === undefined) {
        this.runner.ackLater(job);
        return Promise.resolve();
      }
      const { error } = failure;
      if (error instanceof ReleaseJobSignal) return this.settler.release(job, error.delayMs);
      return this.runner.fail(listener, event, job, error);
    });
  }

  /** Settles each item with `settle`; a settle refused (stale) or failed is reported, not thrown. */
  private async each(
    items: readonly BatchAttempt[],
    settle: (item: BatchAttempt) => Promise<void>,
  ): Promise<void> {
    await Promise.all(
      items.map((item) =>
        settle(item).catch((error: unknown) => this.runner.reportUnsettled(item.job, error)),
      ),
    );
  }
}

/**
 * How each job's attempt ended: handled, or failed with its own error (`failedItems`). When the
 * batch was aborted (shutdown, lost ownership) every job carries the abort's reason, so that
 * metrics count none of them, as they count no single job aborted so.
 */
function outcomes(
  items: readonly BatchItem[],
  outcome: { readonly error: unknown } | undefined,
  controller: AttemptAbort,
): BatchAttempt[] {
  if (outcome === undefined) return items.map(({ job, event }) => ({ job, event }));
  const reason = controller.reason;
  if (reason === SHUTDOWN_REASON || reason instanceof LostOwnershipError) {
    return items.map(({ job, event }) => ({ job, event, failure: { error: reason } }));
  }
  const failed = failedItems(
    items.map((item) => item.event.id),
    outcome.error,
  );
  return items.map(({ job, event }) => ({ job, event, failure: failed.get(event.id) }));
}
