import { Logger } from '@nestjs/common';
import { checkQueuedPayload, type SchemaLookup } from '../event/event-schema.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { deserializeEnvelope, MalformedJobError } from '../event/event.serializer.js';
import { NEWER_VERSION, readVersion, type EventReader } from '../scheduling/event-versions.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import type { ResolvedWorkerOptions } from './worker.options.js';
import type { ReservedJob } from './queue-job.js';
import type { JobSettler } from './job-settler.js';

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

/** A job ready to run (`JobPreparer.prepare`), or settled because it cannot. */
export type PreparedJob =
  | { readonly listener: ListenerDefinition; readonly event: EventEnvelope }
  | { readonly settled: Promise<void> };

/** Ends a job whose attempts are used up: retried or dead-lettered (`JobRunner.fail`). */
export type FailJob = (
  listener: ListenerDefinition,
  event: EventEnvelope,
  job: ReservedJob,
  error: unknown,
) => Promise<void>;

/**
 * Reads a reserved job before its attempt: its envelope (upcast, checked by its schema) and its
 * listener. A job that cannot run here is settled here: dead letters (malformed, invalid,
 * attempts used up, a version or listener nobody knows past its grace), or back to its queue
 * for a worker that can run it.
 */
export class JobPreparer {
  private readonly logger = new Logger(JobPreparer.name);

  /** The class of a class event, by name (made once: `prepare` runs for every job). */
  private readonly eventClass = (name: string): Function | undefined =>
    this.registry.eventClass(name);

  /** Listener ids already warned about as unknown (one warning each). */
  private readonly warnedUnknown = new Set<string>();

  constructor(
    private readonly settler: JobSettler,
    private readonly registry: ListenerRegistry,
    private readonly options: Pick<ResolvedWorkerOptions, 'unknownListenerGraceMs'> &
      Partial<Pick<ResolvedWorkerOptions, 'versionWaitMs'>>,
    /** The schema of an event name (`forRoot`, `bus.addValidator`); class events bring theirs. */
    private readonly schemaOf: SchemaLookup,
    /** Where `EventsClient` events are served: whether another app runs an unknown listener. */
    private readonly elsewhere: () =>
      ((job: ReservedJob) => Promise<number | undefined>) | undefined,
    /** Brings an older event to its current version (`EventVersions.read`), once any is versioned. */
    private readonly versions: () => EventReader | undefined,
    private readonly fail: FailJob,
  ) {}

  /** Only an async schema or upcaster costs a promise. */
  prepare(job: ReservedJob): PreparedJob | Promise<PreparedJob> {
    let envelope: EventEnvelope;
    try {
      envelope = deserializeEnvelope(job.payload, this.eventClass, job.attempt);
    } catch (error) {
      const message = error instanceof MalformedJobError ? error.message : String(error);
      return { settled: this.settler.deadLetter(job, { reason: 'malformed', message }) };
    }
    const read = this.versions();
    if (read !== undefined) {
      const current = readVersion(read, envelope);
      if (current === NEWER_VERSION) return { settled: this.newerVersion(job, envelope) };
      if ('reason' in current) return { settled: this.settler.deadLetter(job, current) };
      // An upcaster's envelope: the attempt number set again if it did not keep it.
      envelope = current.attempt === job.attempt ? current : { ...current, attempt: job.attempt };
    }
    const listener = this.registry.get(job.listener);
    if (!listener?.queue) return { settled: this.unknownListener(job) };
    // The job carries what the emit's schema accepted: the schema runs again here and the handler
    // gets its output. A job from an older producer that no longer fits goes to the dead letters
    // (reason `invalid-payload`), never into the handler. Only an async schema costs an await.
    const checked = checkQueuedPayload(envelope, this.schemaOf);
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
}
