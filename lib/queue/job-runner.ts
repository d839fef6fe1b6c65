import type { SchemaLookup } from '../event/event-schema.js';
import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import type { EventReader } from '../scheduling/event-versions.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import type { ResolvedWorkerOptions } from './worker.options.js';
import { LostOwnershipError } from '../errors/lost-ownership.error.js';
import { StaleJobError } from '../errors/transport.error.js';
import { ReleaseJobSignal } from '../middleware/release-job.signal.js';
import { AttemptAbort } from './attempt-abort.js';
import { AttemptContext } from './attempt-context.js';
import type { InFlight, Running } from './in-flight.js';
import { JobPreparer, type PreparedJob } from './job-preparer.js';
import type { ReservedJob } from './queue-job.js';
import type { JobSettler } from './job-settler.js';
import type { AttemptObserver } from './attempt-outcome.js';
import { failAttempt } from './attempt-failure.js';
import type { EventTracer } from '../tracing/event-tracer.js';
import { JobCancelledError } from '../errors/job-cancelled.error.js';
import type { AttemptGate } from './flow/attempt-gate.js';
import { COLLECTED_EVENTS } from './flow/collected-events.js';
import { isThenable } from '../is-thenable.js';

export { LOST_ATTEMPTS_ALLOWED, type PreparedJob } from './job-preparer.js';

/** What `process` returns for an attempt that was over when it returned. */
const OVER: Promise<void> = Promise.resolve();

/** The abort reason handlers see when the worker stops; an attempt aborted by it is left pending. */
export const SHUTDOWN_REASON = new Error('worker shutdown');

/** The abort reason of an attempt whose job this worker no longer holds. */
export function lostOwnership(job: ReservedJob): LostOwnershipError {
  return new LostOwnershipError(job.id, job.queue, job.listener);
}

/**
 * One attempt's life: reads the job, finds its listener, calls it through its middleware with a
 * timeout and an abort signal, then acknowledges it, schedules a retry with backoff, releases it,
 * or dead-letters it and calls the failure hook once.
 */
export class JobRunner {
  private readonly logger = new Logger(JobRunner.name);
  private readonly preparer: JobPreparer;
  /** @internal Told of every handler call (metrics), set through `Worker.observeAttempts`. */
  observer: AttemptObserver | undefined;
  /** @internal Flow control around attempts (`FlowControl`), set through `Worker.useFlow`. */
  flow: AttemptGate | undefined;

  constructor(
    private readonly settler: JobSettler,
    registry: ListenerRegistry,
    private readonly inFlight: InFlight,
    options: Pick<ResolvedWorkerOptions, 'unknownListenerGraceMs'> &
      Partial<Pick<ResolvedWorkerOptions, 'versionWaitMs'>>,
    /** The schema of an event name (`forRoot`, `bus.addValidator`); class events bring theirs. */
    schemaOf: SchemaLookup,
    /** Where `EventsClient` events are served: whether another app runs an unknown listener. */
    elsewhere: () => ((job: ReservedJob) => Promise<number | undefined>) | undefined = () =>
      undefined,
    /** Brings an older event to its current version (`EventVersions.read`), once any is versioned. */
    versions: () => EventReader | undefined = () => undefined,
    /** Spans of attempts (`forRoot({ tracing })`), when on. */
    private readonly tracer: EventTracer | null = null,
  ) {
    this.preparer = new JobPreparer(
      settler,
      registry,
      options,
      schemaOf,
      elsewhere,
      versions,
      (...args) => this.fail(...args),
    );
  }

  /**
   * Runs one attempt of `job`; resolves once it is over (its ack may still be in flight). Never
   * rejects: a settle that failed is reported here.
   */
  process(job: ReservedJob): Promise<void> {
    return this.processNow(job) ?? OVER;
  }

  /**
   * `process`, or `undefined` when the attempt was over when it returned: a job read and handled
   * synchronously (a plain sync method, see `run`) has its ack requested and costs no promise of
   * its own. Anything else (an async step, a failure) goes on in `attempt`.
   * @internal
   */
  processNow(job: ReservedJob): Promise<void> | undefined {
    const controller = new AttemptAbort();
    const running: Running = {
      job,
      controller,
      done: undefined,
      startedAt: Date.now(),
      isReportedLong: false,
      slot: -1,
    };
    // Added before the attempt starts: a sync attempt is over before it returns.
    this.inFlight.running.add(running);
    let prepared: PreparedJob | Promise<PreparedJob>;
    try {
      prepared = this.prepare(job);
    } catch (error) {
      return (running.done = this.attempt(job, controller, running, Promise.reject(error)));
    }
    if (prepared instanceof Promise || 'settled' in prepared) {
      return (running.done = this.attempt(job, controller, running, prepared));
    }
    let called: Promise<unknown> | undefined;
    try {
      called = this.call(prepared.listener, prepared.event, job, controller);
    } catch (error) {
      called = Promise.reject(error);
    }
    if (called !== undefined) {
      return (running.done = this.attempt(job, controller, running, prepared, called));
    }
    try {
      this.ackLater(job);
    } catch (error) {
      this.reportUnsettled(job, error);
    }
    this.inFlight.running.delete(running);
    return undefined;
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
   * @internal Reads `job` for an attempt: its envelope and its listener, or `{ settled }` for a
   * job that cannot run (see `JobPreparer`).
   */
  prepare(job: ReservedJob): PreparedJob | Promise<PreparedJob> {
    return this.preparer.prepare(job);
  }

  /**
   * The rest of an attempt that did not end when it returned (see `processNow`): from its
   * prepared job, or from its handler's outcome (`called`, when the handler was called). Its
   * failed settle reported, its running entry removed (one promise per job).
   */
  private async attempt(
    job: ReservedJob,
    controller: AttemptAbort,
    running: Running,
    preparing: PreparedJob | Promise<PreparedJob>,
    called?: Promise<unknown>,
  ): Promise<void> {
    try {
      const prepared = preparing instanceof Promise ? await preparing : preparing;
      if ('settled' in prepared) return await prepared.settled;
      const { listener, event } = prepared;
      try {
        const outcome = called ?? this.call(listener, event, job, controller);
        if (outcome !== undefined) await outcome;
      } catch (error) {
        return await this.afterError(listener, event, job, controller, error);
      }
      this.ackLater(job);
    } catch (error) {
      // A settle refused as stale: another worker holds the job now.
      if (error instanceof StaleJobError) controller.abort(lostOwnership(job));
      this.reportUnsettled(job, error);
    } finally {
      this.inFlight.running.delete(running);
    }
  }

  /**
   * The handler call with what wraps it when set: flow control, the attempt's span, metrics.
   * `undefined` when it was over when it returned (see `run`).
   */
  private call(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    controller: AttemptAbort,
  ): Promise<unknown> | undefined {
    const { flow, tracer, observer } = this;
    if (flow === undefined && tracer === null && observer === undefined) {
      return this.run(listener, event, job, controller);
    }
    const direct = (events?: readonly EventEnvelope[]): Promise<unknown> | undefined =>
      this.run(listener, event, job, controller, events);
    const run =
      flow === undefined || !flow.applies(listener)
        ? direct
        : () => flow.around(listener, event, job, controller, direct);
    const traced = tracer === null ? run : () => tracer.process(event, job, run);
    return observer === undefined ? traced() : observer.observe(job, event, listener, traced);
  }

  /** Settles an attempt whose handler threw or rejected. */
  private afterError(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    controller: AttemptAbort,
    error: unknown,
  ): Promise<void> | undefined {
    // Aborted by shutdown: leave the job pending for another worker or the next start.
    if (controller.reason === SHUTDOWN_REASON) return undefined;
    // Another worker holds the job now: its outcome is theirs to settle.
    if (controller.reason instanceof LostOwnershipError) return undefined;
    // Cancelled by flow control (singleton, cancelOn): done, not retried.
    if (controller.reason instanceof JobCancelledError) return this.settler.ack(job);
    if (error instanceof ReleaseJobSignal) return this.settler.release(job, error.delayMs);
    return this.fail(listener, event, job, error);
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
    const context = new AttemptContext(controller, job.attempt, job.queue, listener.id);
    // Debounce `collect`: the method gets the window's events (see `collectingCall`).
    if (events !== undefined) Object.assign(context, { [COLLECTED_EVENTS]: events });
    const call = (): unknown => listener.invoke(event, context);
    // A plain method without middleware is done when it returns: no async context needed.
    const isSync = listener.isAsync === false;
    if (isSync && options.timeout === 0) {
      if (controller.isAborted) throw controller.reason;
      const result = EventContext.runSync(event, call);
      if (!isThenable(result)) return undefined;
      return controller.outcome(0, listener.id, () => result);
    }
    return controller.outcome(options.timeout, listener.id, () =>
      isSync ? EventContext.runSync(event, call) : EventContext.runAs(event, call),
    );
  }

  /** @internal Retries the job with backoff, or dead-letters it and calls the failure hook. */
  fail(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    error: unknown,
  ): Promise<void> {
    return failAttempt(this.settler, this.logger, listener, event, job, error);
  }
}
