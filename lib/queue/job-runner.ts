import { checkQueuedPayload, type SchemaLookup } from '../event/event-schema.js';
import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import { deserializeEnvelope, MalformedJobError } from '../event/event.serializer.js';
import { NEWER_VERSION, readVersion, type EventReader } from '../scheduling/event-versions.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import type { ResolvedWorkerOptions } from './worker.options.js';
import { LostOwnershipError } from '../errors/lost-ownership.error.js';
import { StaleJobError } from '../errors/transport.error.js';
import { ReleaseJobSignal } from '../middleware/release-job.signal.js';
import { AttemptAbort } from './attempt-abort.js';
import { backoffDelay } from './backoff.js';
import { receiptKey, type InFlight } from './in-flight.js';
import type { JobFailure, ReservedJob } from './queue-job.js';
import type { JobSettler } from './job-settler.js';
import { failureReason, isFinalFailure, type AttemptObserver } from './attempt-outcome.js';
import type { EventTracer } from '../tracing/event-tracer.js';
import { attemptFields, errorField, toLogfmt } from '../middleware/attempt-log.js';
import { JobCancelledError } from '../errors/job-cancelled.error.js';
import type { AttemptGate } from './flow/attempt-gate.js';
import { COLLECTED_EVENTS } from './flow/collected-events.js';
import { isThenable } from '../is-thenable.js';

/**
 * Deliveries past `tries` that a reclaimed job still gets. A reclaim (the worker died or froze)
 * counts as an attempt, but the handler never failed: the job runs again, unless it already had
 * this many such extra deliveries.
 */
export const LOST_ATTEMPTS_ALLOWED = 2;

/** How often (ms) a job of an unknown listener comes back to a worker during its grace period. */
const UNKNOWN_LISTENER_RECHECK_MS = 1000;
/** Unknown listener ids remembered for their one warning. */
const MAX_WARNED_UNKNOWN = 1000;

/** The abort reason handlers see when the worker stops; an attempt aborted by it is left pending. */
export const SHUTDOWN_REASON = new Error('worker shutdown');

/** The abort reason of an attempt whose job this worker no longer holds. */
export function lostOwnership(job: ReservedJob): LostOwnershipError {
  return new LostOwnershipError(job.id, job.queue, job.listener);
}

function failureOf(reason: string, error: unknown): JobFailure {
  if (error instanceof Error) {
    return {
      reason,
      message: error.message,
      stack: error.stack?.split('\n').slice(0, 6).join('\n'),
    };
  }
  return { reason, message: String(error) };
}

/**
 * One attempt's life: reads the job, finds its listener, calls it through its middleware with a
 * timeout and an abort signal, then acknowledges it, schedules a retry with backoff, releases it,
 * or dead-letters it and calls the failure hook once.
 */
export class JobRunner {
  private readonly logger = new Logger(JobRunner.name);

  /** Listener ids already warned about as unknown (one warning each). */
  private readonly warnedUnknown = new Set<string>();
  /** @internal Told of every handler call (metrics), set through `Worker.observeAttempts`. */
  observer: AttemptObserver | undefined;
  /** @internal Flow control around attempts (`FlowControl`), set through `Worker.useFlow`. */
  flow: AttemptGate | undefined;

  constructor(
    private readonly settler: JobSettler,
    private readonly registry: ListenerRegistry,
    private readonly inFlight: InFlight,
    private readonly options: Pick<ResolvedWorkerOptions, 'unknownListenerGraceMs'> &
      Partial<Pick<ResolvedWorkerOptions, 'versionWaitMs'>>,
    /** The schema of an event name (`forRoot`, `bus.addValidator`); class events bring theirs. */
    private readonly schemaOf: SchemaLookup,
    /** Where `EventsClient` events are served: whether another app runs an unknown listener. */
    private readonly elsewhere: () =>
      ((job: ReservedJob) => Promise<number | undefined>) | undefined = () => undefined,
    /** Brings an older event to its current version (`EventVersions.read`), once any is versioned. */
    private readonly versions: () => EventReader | undefined = () => undefined,
    /** Spans of attempts (`forRoot({ tracing })`), when on. */
    private readonly tracer: EventTracer | null = null,
  ) {}

  /**
   * Runs one attempt of `job`; resolves once it is over (its ack may still be in flight). Never
   * rejects: a settle that failed is reported here.
   */
  process(job: ReservedJob): Promise<void> {
    const controller = new AttemptAbort();
    const key = receiptKey(job);
    const done = this.attemptReported(job, controller, key);
    this.inFlight.running.set(key, {
      job,
      controller,
      done,
      startedAt: Date.now(),
      isReportedLong: false,
    });
    return done;
  }

  /** `attempt`, its failed settle reported, its running entry removed (one promise per job). */
  private async attemptReported(
    job: ReservedJob,
    controller: AttemptAbort,
    key: string,
  ): Promise<void> {
    try {
      await this.attempt(job, controller);
    } catch (error) {
      // A settle refused as stale: another worker holds the job now.
      if (error instanceof StaleJobError) controller.abort(lostOwnership(job));
      this.reportUnsettled(job, error);
    } finally {
      this.inFlight.running.delete(key);
    }
  }

  /** Logs a settle that did not happen. */
  reportUnsettled(job: ReservedJob, error: unknown): void {
    if (error instanceof StaleJobError) {
      this.logger.warn(error.message);
    } else {
      this.logger.error(
        `Job ${job.id} of queue "${job.queue}" could not be settled: ${String(error)}`,
      );
    }
  }

  /**
   * Acknowledges in the background: the job's slot is free as soon as its handler settled, and
   * the transport batches the ack with others. Shutdown waits for every ack (`settling`).
   * @internal
   */
  ackLater(job: ReservedJob): void {
    const settling = this.inFlight.settling;
    // One reaction for both outcomes (no catch/finally pair): this runs for every job.
    const acked: Promise<void> = this.settler.ack(job).then(
      () => void settling.delete(acked),
      (error: unknown) => {
        settling.delete(acked);
        this.reportUnsettled(job, error);
      },
    );
    settling.set(acked, job);
  }

  /**
   * @internal Reads `job` for an attempt: its envelope (upcast, checked by its schema) and its
   * listener. A job that cannot run is settled here (dead letters, or put back for another
   * worker) and comes back as `{ settled }`. Only an async schema or upcaster costs a promise.
   */
  prepare(job: ReservedJob): PreparedJob | Promise<PreparedJob> {
    let envelope: EventEnvelope;
    try {
      envelope = deserializeEnvelope(job.payload, (name) => this.registry.eventClass(name));
    } catch (error) {
      const message = error instanceof MalformedJobError ? error.message : String(error);
      return { settled: this.settler.deadLetter(job, { reason: 'malformed', message }) };
    }
    const read = this.versions();
    if (read !== undefined) {
      const current = readVersion(read, envelope);
      if (current === NEWER_VERSION) return { settled: this.newerVersion(job, envelope) };
      if ('reason' in current) return { settled: this.settler.deadLetter(job, current) };
      envelope = current;
    }
    const listener = this.registry.get(job.listener);
    if (!listener?.queue) return { settled: this.unknownListener(job) };
    // The job carries what the emit's schema accepted: the schema runs again here and the handler
    // gets its output. A job from an older producer that no longer fits goes to the dead letters
    // (reason `invalid-payload`), never into the handler. Only an async schema costs an await.
    const checked = checkQueuedPayload({ ...envelope, attempt: job.attempt }, this.schemaOf);
    if (checked instanceof Promise) {
      return checked.then((result) => this.checked(job, listener, result));
    }
    return this.checked(job, listener, checked);
  }

  private checked(
    job: ReservedJob,
    listener: ListenerDefinition,
    checked: Awaited<ReturnType<typeof checkQueuedPayload>>,
  ): PreparedJob {
    if ('reason' in checked) return { settled: this.settler.deadLetter(job, checked) };
    const event: EventEnvelope = checked;
    if (job.attempt > listener.queue!.tries + LOST_ATTEMPTS_ALLOWED) {
      // Only a reclaim gets here: the attempts past `tries` all ended with their worker dying or
      // freezing. A job that kills its process every time must not be reclaimed forever.
      const error = new Error(
        `Attempts used up: ${job.attempt - 1} attempt(s), the last ones ended without an outcome (the worker died or froze)`,
      );
      return { settled: this.fail(listener, event, job, error) };
    }
    return { listener, event };
  }

  private async attempt(job: ReservedJob, controller: AttemptAbort): Promise<void> {
    let prepared = this.prepare(job);
    if (prepared instanceof Promise) prepared = await prepared;
    if ('settled' in prepared) return prepared.settled;
    const { listener, event } = prepared;
    try {
      const flow = this.flow;
      const direct = (events?: readonly EventEnvelope[]): Promise<unknown> | undefined =>
        this.run(listener, event, job, controller, events);
      const run =
        flow === undefined || !flow.applies(listener)
          ? direct
          : () => flow.around(listener, event, job, controller, direct);
      const tracer = this.tracer;
      const traced = tracer === null ? run : () => tracer.process(event, job, run);
      const running =
        this.observer === undefined
          ? traced()
          : this.observer.observe(job, event, listener, traced);
      if (running !== undefined) await running;
    } catch (error) {
      if (controller.reason === SHUTDOWN_REASON) {
        // Aborted by shutdown: leave the job pending for another worker or the next start.
        return;
      }
      // Another worker holds the job now: its outcome is theirs to settle.
      if (controller.reason instanceof LostOwnershipError) return;
      // Cancelled by flow control (singleton, cancelOn): done, not retried.
      if (controller.reason instanceof JobCancelledError) return this.settler.ack(job);
      if (error instanceof ReleaseJobSignal) return this.settler.release(job, error.delayMs);
      return this.fail(listener, event, job, error);
    }
    this.ackLater(job);
  }

  /**
   * An event of a version newer than this app's upcasters know (a newer producer, during a
   * rolling deploy): put back, its attempt not counted, for an up-to-date worker, until
   * `worker.versionWaitMs` after it was stored; then dead-lettered (reason `unknown_version`).
   */
  private newerVersion(job: ReservedJob, envelope: EventEnvelope): Promise<void> {
    const waitMs = this.options.versionWaitMs ?? 0;
    const leftMs = job.enqueuedAt > 0 ? waitMs - (Date.now() - job.enqueuedAt) : 0;
    if (leftMs > 0) return this.settler.release(job, Math.min(leftMs, UNKNOWN_LISTENER_RECHECK_MS));
    const message = `Event "${envelope.name}" is at version ${envelope.version}, newer than this application knows`;
    this.logger.error(
      `Queue "${job.queue}": job ${job.id} dead-lettered: ${message} (after worker.versionWaitMs)`,
    );
    return this.settler.deadLetter(job, { reason: 'unknown_version', message });
  }

  /**
   * A job of a listener this process does not know: a renamed class or method, or a worker older
   * than the producer during a rolling deploy. It goes back to its queue (attempt not counted) so
   * that a worker that knows it can run it, until `worker.unknownListenerGraceMs` after it was
   * stored; then it is dead-lettered. Entries without a stored time are dead-lettered at once.
   */
  private async unknownListener(job: ReservedJob): Promise<void> {
    // A listener that another app of this prefix runs (the listener directory): put the job back
    // for it, with no time limit.
    const releaseMs = await this.elsewhere()?.(job);
    if (releaseMs !== undefined) return this.settler.release(job, releaseMs);
    const graceMs = this.options.unknownListenerGraceMs;
    const leftMs = job.enqueuedAt > 0 ? graceMs - (Date.now() - job.enqueuedAt) : 0;
    if (leftMs > 0) {
      if (!this.warnedUnknown.has(job.listener)) {
        if (this.warnedUnknown.size >= MAX_WARNED_UNKNOWN) this.warnedUnknown.clear();
        this.warnedUnknown.add(job.listener);
        this.logger.warn(
          `Queue "${job.queue}": no queued listener "${job.listener}" in this application; its jobs go back to the queue for a worker that has it, and to dead letters ${graceMs} ms after they were stored`,
        );
      }
      return this.settler.release(job, Math.min(leftMs, UNKNOWN_LISTENER_RECHECK_MS));
    }
    const message = `No queued listener "${job.listener}" in this application`;
    this.logger.error(
      `Queue "${job.queue}": job ${job.id} dead-lettered: no queued listener "${job.listener}" took it within worker.unknownListenerGraceMs (${graceMs} ms). Renamed? Keep the old id with @OnEvent(pattern, { aliases: ['${job.listener}'] })`,
    );
    return this.settler.deadLetter(job, { reason: 'unknown-listener', message });
  }

  /**
   * Calls the listener through its middleware, with the attempt's timeout and abort signal.
   * Returns `undefined` when the call was over when it returned (a plain sync method without
   * middleware and without a timeout: like in-process, it runs without AsyncLocalStorage and
   * costs no promise); a listener error thrown then is thrown here.
   */
  private run(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    controller: AttemptAbort,
    events?: readonly EventEnvelope[],
  ): Promise<unknown> | undefined {
    const options = listener.queue!;
    const context = {
      get signal(): AbortSignal {
        return controller.signal;
      },
      attempt: job.attempt,
      queue: job.queue,
      listener: listener.id,
    };
    // Debounce `collect`: the method gets the window's events (see `collectingCall`).
    if (events !== undefined) Object.assign(context, { [COLLECTED_EVENTS]: events });
    const call = (): unknown => listener.invoke(event, context);
    // A plain method without middleware is done when it returns: no async context needed.
    const isSync = listener.isAsync === false;
    if (isSync && options.timeout === 0) {
      if (controller.isAborted) throw controller.reason;
      const result = EventContext.runSync({ event, metadata: event.metadata }, call);
      if (!isThenable(result)) return undefined;
      return controller.outcome(0, listener.id, () => result);
    }
    return controller.outcome(options.timeout, listener.id, () =>
      isSync
        ? EventContext.runSync({ event, metadata: event.metadata }, call)
        : EventContext.runAs(event, call),
    );
  }

  /** @internal Retries the job with backoff, or dead-letters it and calls the failure hook. */
  async fail(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    error: unknown,
  ): Promise<void> {
    const options = listener.queue!;
    const isFinal = isFinalFailure(error, job.attempt, options.tries);
    const reason = failureReason(error);
    // The fields of `Logging`'s lines, so a log platform reads both the same way.
    const fields = attemptFields(event, listener.id, job.attempt, job.queue);
    fields.tries = options.tries;
    if (!isFinal) {
      const delayMs = backoffDelay(options.backoff, job.attempt);
      Object.assign(fields, { outcome: 'retry', retryMs: delayMs, error: errorField(error) });
      this.logger.warn(toLogfmt(fields));
      return this.settler.retry(job, delayMs, failureOf(reason, error));
    }
    Object.assign(fields, { outcome: 'dead', reason, error: errorField(error) });
    this.logger.error(toLogfmt(fields), error instanceof Error ? error.stack : undefined);
    if (options.isHookBeforeDeadLetter) {
      // The hook stores where the job's work goes next: dead-lettering the job before it
      // succeeded would lose that move for good. It runs again (the handler does not) while the
      // worker holds the job; a worker that stops first leaves the job for a reclaim.
      const { onFailed } = options;
      if (onFailed) {
        await this.settler.persist(job, `the failure hook of ${listener.id}`, async () => {
          await onFailed(event, error);
        });
      }
      return this.settler.deadLetter(job, failureOf(reason, error));
    }
    await this.settler.deadLetter(job, failureOf(reason, error));
    await this.failed(listener, event, error);
  }

  /** Calls `listener`'s failure hook, if any; a hook that throws is logged. */
  private async failed(
    listener: ListenerDefinition,
    event: EventEnvelope,
    error: unknown,
  ): Promise<void> {
    const { onFailed } = listener.queue!;
    if (!onFailed) return;
    try {
      await onFailed(event, error);
    } catch (hookError) {
      this.logger.error(`Failure hook of ${listener.id} threw: ${String(hookError)}`);
    }
  }
}

/** A job ready to run (`JobRunner.prepare`), or settled because it cannot. */
export type PreparedJob =
  | { readonly listener: ListenerDefinition; readonly event: EventEnvelope }
  | { readonly settled: Promise<void> };
