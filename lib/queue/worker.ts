import { performance } from 'node:perf_hooks';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { EventContext } from '../event/event-context.js';
import { deserializeEnvelope, MalformedJobError } from '../event/event.serializer.js';
import { checkQueuedPayload } from '../event/event-schema.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { JobTimeoutError } from '../errors/job-timeout.error.js';
import { StaleJobError } from '../errors/transport.error.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { ReleaseJobSignal } from '../middleware/release-job.signal.js';
import { backoffDelay } from './backoff.js';
import type { JobFailure, ReservedJob } from './queue-job.js';
import type { QueueTransport } from './queue-transport.interface.js';

const SHUTDOWN = Symbol('shutdown');
/**
 * Deliveries past `tries` that a reclaimed job still gets. A reclaim (the worker died or froze)
 * counts as an attempt, but the handler never failed: the job runs again, unless it already had
 * this many such extra deliveries.
 */
export const LOST_ATTEMPTS_ALLOWED = 2;
/** Handler times measured before a queue reads ahead. */
const READ_AHEAD_AFTER = 16;
/** Most jobs a queue reads ahead of its free slots. */
const READ_AHEAD_MAX = 100;
/** How long (ms) a job read ahead should wait for a slot, on average. */
const READ_AHEAD_WAIT_MS = 2;

/**
 * Jobs to reserve past the free slots, so that the next job starts without a read round trip:
 * only as many as the slots get through in about `READ_AHEAD_WAIT_MS` (none for slow handlers,
 * whose jobs had better stay in the queue for other workers).
 */
function readAhead(limit: number, averageMs: number): number {
  return Math.min(
    READ_AHEAD_MAX,
    Math.floor((READ_AHEAD_WAIT_MS * limit) / Math.max(averageMs, 0.001)),
  );
}

/** Acknowledgements in flight (over all queues) past which the worker takes no new jobs. */
const MAX_ACKS_IN_FLIGHT = 5000;
// The abort reason handlers see when the worker stops; an attempt aborted by it is left pending.
const SHUTDOWN_REASON = new Error('worker shutdown');

// What `context.release(delayMs)` throws in a middleware: put the job back without counting the attempt.
export { ReleaseJobSignal };

/**
 * What an `EventsServer` asks the worker of its process to work on (see
 * `lib/microservices/events-server.link.ts`); unset fields fall back to `forRoot({ worker })`.
 */
export interface WorkerPlan {
  /** The queues to work on; undefined: every queue of this app's queued listeners. */
  readonly queues?: readonly string[];
  readonly concurrency?: number | Readonly<Record<string, number>>;
}

interface Running {
  readonly job: ReservedJob;
  readonly controller: AttemptAbort;
  readonly done: Promise<void>;
}

/**
 * Aborts one attempt (timeout, shutdown). The AbortController behind `context.signal` is only
 * made when a listener or middleware reads the signal: most never do.
 */
class AttemptAbort {
  isAborted = false;
  reason: unknown = undefined;
  /** Rejects the running attempt; set while it runs. */
  onAbort: ((reason: unknown) => void) | undefined;
  private controller: AbortController | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.isAborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.onAbort?.(reason);
  }
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
 * Runs queued listeners: reserves jobs per queue up to its concurrency, calls the listener
 * through its middleware with a timeout and an abort signal, then acknowledges, schedules a
 * retry with backoff, or dead-letters the job and calls its failure hook once.
 */
@Injectable()
export class Worker
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(Worker.name);
  private readonly stopping = new AbortController();
  private readonly running = new Map<string, Running>();
  /** Acknowledgements in flight: a slot frees when its handler settles, not after the ack. */
  private readonly acking = new Map<Promise<void>, ReservedJob>();
  /** Jobs reserved ahead of a free slot (every queue): heartbeats cover them too. */
  private readonly ahead = new Set<ReservedJob>();
  private readonly loops: Promise<void>[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private isStarted = false;
  private isClosed = false;
  /** Set when an EventsServer runs this app: the server starts the worker, with its plan. */
  private isServerOwned = false;
  private plan: WorkerPlan = {};

  constructor(
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
    private readonly registry: ListenerRegistry,
  ) {}

  /** The queues this process works on. */
  queues(): string[] {
    const chosen = this.plan.queues ?? this.options.worker.queues;
    if (chosen) return [...chosen];
    const names = new Set<string>();
    for (const listener of this.registry.all()) if (listener.queue) names.add(listener.queue.queue);
    return [...names].sort();
  }

  onApplicationBootstrap(): void {
    if (!this.options.worker.enabled || this.isServerOwned) return;
    this.start();
  }

  /** @internal The app has an EventsServer: the worker waits for it instead of starting at bootstrap. */
  deferToServer(): void {
    this.isServerOwned = true;
  }

  /**
   * @internal Called by the EventsServer in `listen()`: starts the worker on the server's queues
   * and concurrency, even when `forRoot({ worker: false })` (the server is the process's worker).
   */
  startForServer(plan: WorkerPlan): void {
    this.plan = plan;
    this.start();
  }

  private start(): void {
    if (this.isStarted || this.stopping.signal.aborted) return;
    this.isStarted = true;
    for (const queue of this.queues()) this.loops.push(this.loop(queue));
    const interval = Math.max(50, Math.floor(this.options.visibilityTimeout / 3));
    this.heartbeat = setInterval(() => {
      // Jobs whose ack is in flight too: a slow ack must not let them be reclaimed.
      const jobs = [...this.running.values()].map((r) => r.job);
      for (const job of this.acking.values()) jobs.push(job);
      for (const job of this.ahead) jobs.push(job);
      if (jobs.length > 0) {
        this.transport
          .heartbeat(jobs)
          .catch((error: unknown) => this.logger.warn(`Heartbeat failed: ${String(error)}`));
      }
    }, interval);
    this.heartbeat.unref();
  }

  /** Stops taking jobs and waits for running ones up to `worker.shutdownTimeout`, then aborts them. */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.isStarted || this.stopping.signal.aborted) return;
    this.stopping.abort();
    await Promise.all(this.loops);
    const inFlight = [...this.running.values()];
    if (inFlight.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<typeof SHUTDOWN>((resolve) => {
        timer = setTimeout(() => resolve(SHUTDOWN), this.options.worker.shutdownTimeout);
      });
      const outcome = await Promise.race([Promise.all(inFlight.map((r) => r.done)), deadline]);
      clearTimeout(timer);
      if (outcome === SHUTDOWN) {
        this.logger.warn(
          `${this.running.size} job(s) still running at the shutdown deadline: aborted and left pending`,
        );
        for (const r of this.running.values()) r.controller.abort(SHUTDOWN_REASON);
      }
    }
    // Shutdown completes only once every acknowledgement is settled.
    while (this.acking.size > 0) await Promise.all([...this.acking.keys()]);
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (!this.stopping.signal.aborted) this.stopping.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.transport.close();
  }

  private concurrency(queue: string): number {
    const c = this.plan.concurrency ?? this.options.worker.concurrency;
    return typeof c === 'number' ? c : (c[queue] ?? 1);
  }

  /**
   * Works one queue: starts reserved jobs in free slots and keeps the next read in flight while
   * handlers run. Fast handlers get jobs read ahead of their free slots (see `readAhead`).
   */
  private async loop(queue: string): Promise<void> {
    const limit = this.concurrency(queue);
    const mine = new Set<Promise<void>>();
    const signal = this.stopping.signal;
    // Wakes the loop (one waiter: this loop) on a freed slot, a finished read, or shutdown.
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    signal.addEventListener('abort', notify, { once: true });
    // Jobs reserved ahead of a free slot, in stored order.
    const ahead: ReservedJob[] = [];
    // Handler time, a moving average (ms), and how many attempts it is made of.
    let averageMs = 0;
    let samples = 0;
    const start = (job: ReservedJob): void => {
      const startedAt = performance.now();
      const done = this.process(job).finally(() => {
        mine.delete(done);
        const tookMs = performance.now() - startedAt;
        averageMs = samples === 0 ? tookMs : averageMs + (tookMs - averageMs) / 8;
        samples++;
        notify();
      });
      mine.add(done);
    };
    let failures = 0;
    let fetching: Promise<void> | undefined;
    const fetch = async (max: number): Promise<void> => {
      try {
        const jobs = await this.transport.reserve(queue, max, signal);
        failures = 0;
        for (const job of jobs) {
          ahead.push(job);
          this.ahead.add(job);
        }
      } catch (error) {
        // Loops never throw: report, back off with jitter, and try again.
        failures++;
        const waitMs = Math.min(5000, 100 * 2 ** Math.min(failures, 6)) * (1 + Math.random() / 2);
        if (failures === 1 || failures % 20 === 0) {
          this.logger.error(
            `Queue "${queue}": reserving jobs failed (${failures}x), retrying: ${String(error)}`,
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      } finally {
        fetching = undefined;
        notify();
      }
    };
    while (!signal.aborted) {
      if (this.acking.size >= MAX_ACKS_IN_FLIGHT) {
        // Redis is slower to acknowledge than handlers finish: wait rather than pile up acks.
        await Promise.race([...this.acking.keys(), new Promise<void>((r) => (wake = r))]);
        continue;
      }
      while (ahead.length > 0 && mine.size < limit) {
        const job = ahead.shift()!;
        this.ahead.delete(job);
        start(job);
      }
      if (!fetching) {
        const extra = samples < READ_AHEAD_AFTER ? 0 : readAhead(limit, averageMs);
        const wanted = limit - mine.size + extra - ahead.length;
        // Read again when the jobs at hand run low: before they run out when reading ahead.
        if (wanted > 0 && ahead.length <= extra / 2) fetching = fetch(wanted);
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
    await fetching;
    // Stopping: jobs read ahead never started. Put them back (at the queue's tail, the attempt
    // not counted) rather than leave them pending until another worker reclaims them.
    await Promise.all(
      ahead.map((job) =>
        this.transport
          .release(job, 0)
          .catch((error: unknown) => this.reportUnsettled(job, error))
          .finally(() => this.ahead.delete(job)),
      ),
    );
  }

  private process(job: ReservedJob): Promise<void> {
    const controller = new AttemptAbort();
    const done = this.attempt(job, controller)
      .catch((error: unknown) => this.reportUnsettled(job, error))
      .finally(() => this.running.delete(job.id));
    this.running.set(job.id, { job, controller, done });
    return done;
  }

  private reportUnsettled(job: ReservedJob, error: unknown): void {
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
   * the transport batches the ack with others. Shutdown waits for every ack (`acking`).
   */
  private ackLater(job: ReservedJob): void {
    const acked: Promise<void> = this.transport
      .ack(job)
      .catch((error: unknown) => this.reportUnsettled(job, error))
      .finally(() => this.acking.delete(acked));
    this.acking.set(acked, job);
  }

  private async attempt(job: ReservedJob, controller: AttemptAbort): Promise<void> {
    let envelope: EventEnvelope;
    try {
      envelope = deserializeEnvelope(job.payload, (name) => this.registry.eventClass(name));
    } catch (error) {
      const message = error instanceof MalformedJobError ? error.message : String(error);
      return this.transport.deadLetter(job, { reason: 'malformed', message });
    }
    const listener = this.registry.get(job.listener);
    if (!listener?.queue) {
      return this.transport.deadLetter(job, {
        reason: 'unknown-listener',
        message: `No queued listener "${job.listener}" in this application`,
      });
    }
    const checked = checkQueuedPayload(envelope, this.options.schemas);
    if ('reason' in checked) return this.transport.deadLetter(job, checked);
    const event: EventEnvelope = { ...checked, attempt: job.attempt };
    if (job.attempt > listener.queue.tries + LOST_ATTEMPTS_ALLOWED) {
      // Only a reclaim gets here: the attempts past `tries` all ended with their worker dying or
      // freezing. A job that kills its process every time must not be reclaimed forever.
      return this.fail(
        listener,
        event,
        job,
        new Error(
          `Attempts used up: ${job.attempt - 1} attempt(s), the last ones ended without an outcome (the worker died or froze)`,
        ),
      );
    }
    try {
      await this.run(listener, event, job, controller);
    } catch (error) {
      if (controller.reason === SHUTDOWN_REASON) {
        // Aborted by shutdown: leave the job pending for another worker or the next start.
        return;
      }
      if (error instanceof ReleaseJobSignal) return this.transport.release(job, error.delayMs);
      return this.fail(listener, event, job, error);
    }
    this.ackLater(job);
  }

  private run(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    controller: AttemptAbort,
  ): Promise<unknown> {
    const options = listener.queue!;
    const context = {
      get signal(): AbortSignal {
        return controller.signal;
      },
      attempt: job.attempt,
      queue: job.queue,
      listener: listener.id,
    };
    // One promise per attempt: settled by the listener, or rejected by a timeout or shutdown.
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle =
        (outcome: (value: unknown) => void) =>
        (value: unknown): void => {
          if (timer) clearTimeout(timer);
          controller.onAbort = undefined;
          outcome(value);
        };
      if (controller.isAborted) return reject(controller.reason);
      controller.onAbort = settle(reject);
      if (options.timeout > 0) {
        timer = setTimeout(
          () => controller.abort(new JobTimeoutError(listener.id, options.timeout)),
          options.timeout,
        );
      }
      EventContext.runAs(event, () => {
        try {
          Promise.resolve(listener.invoke(event, context)).then(settle(resolve), settle(reject));
        } catch (error) {
          settle(reject)(error);
        }
      });
    });
  }

  private async fail(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    error: unknown,
  ): Promise<void> {
    const options = listener.queue!;
    const isFinal = error instanceof UnrecoverableError || job.attempt >= options.tries;
    const reason =
      error instanceof UnrecoverableError
        ? 'unrecoverable'
        : error instanceof JobTimeoutError
          ? 'timeout'
          : 'failed';
    const message = error instanceof Error ? error.message : String(error);
    if (!isFinal) {
      const delayMs = backoffDelay(options.backoff, job.attempt);
      this.logger.warn(
        `Listener ${listener.id} failed attempt ${job.attempt}/${options.tries} on "${event.name}" (${event.id}), retry in ${delayMs} ms: ${message}`,
      );
      return this.transport.retry(job, delayMs, failureOf(reason, error));
    }
    this.logger.error(
      `Listener ${listener.id} failed for good on "${event.name}" (${event.id}) after ${job.attempt} attempt(s): ${message}`,
      error instanceof Error ? error.stack : undefined,
    );
    await this.transport.deadLetter(job, failureOf(reason, error));
    if (options.onFailed) {
      try {
        await options.onFailed(event, error);
      } catch (hookError) {
        this.logger.error(`Failure hook of ${listener.id} threw: ${String(hookError)}`);
      }
    }
  }
}
